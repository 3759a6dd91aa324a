"""Miniature LibriSpeech and DEMAND trees in the official layouts, built from the
shared AN4 audio and noise (helpers of the librispeech_demand tests; import them
as ``from librispeech_demand_helpers import ...``)."""

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import soundfile as sf

from espnet2_ext.recipe.corpora.an4 import read_transcription
from espnet2_ext.recipe.corpora.demand import SEEN, UNSEEN


def an4_utterances(an4: Path) -> List[Tuple[str, Path, str, int]]:
    """``(speaker, path, WORDS, samples)`` of every shared AN4 utterance, sorted."""
    trans = {}
    for part in ("train", "test"):
        trans.update(read_transcription(an4 / "etc" / f"an4_{part}.transcription"))
    out = []
    for p in sorted((an4 / "wav").rglob("*.sph")):
        if p.stem in trans and trans[p.stem]:
            out.append((p.parent.name, p, trans[p.stem], sf.info(str(p)).frames))
    return out


def make_librispeech(root: Path, an4: Path, sizes: Dict[str, int]) -> Dict[str, List[str]]:
    """``root/<subset>/<spk>/<chapter>/<spk>-<chapter>-<nnnn>.flac`` + ``.trans.txt``.

    ``sizes``: utterances per subset, e.g. ``{"train-clean-100": 8, "dev-clean": 2,
    "test-clean": 2}``; the test subset gets the shortest AN4 utterances, every
    AN4 speaker becomes one LibriSpeech speaker with one chapter.  Returns the
    utterance ids per subset.
    """
    utts = an4_utterances(an4)
    short_first = sorted(utts, key=lambda u: u[3])
    pools = {}
    test_names = [s for s in sizes if s.startswith("test")]
    taken = set()
    for s in test_names:
        pools[s] = [u for u in short_first if u[1] not in taken][: sizes[s]]
        taken |= {u[1] for u in pools[s]}
    rest = [u for u in utts if u[1] not in taken]
    rank: Dict[str, int] = {}
    order = []
    for u in rest:  # round robin over speakers: each subset gets several
        rank[u[0]] = rank.get(u[0], -1) + 1
        order.append((rank[u[0]], u[0], u))
    rest = [u for _, _, u in sorted(order, key=lambda t: t[:2])]
    k = 0
    for s in sizes:
        if s in pools:
            continue
        pools[s] = rest[k : k + sizes[s]]
        k += sizes[s]
    spk_ids = {spk: str(100 + i) for i, spk in enumerate(sorted({u[0] for u in utts}))}
    ids: Dict[str, List[str]] = {}
    for subset, chosen in pools.items():
        ids[subset] = []
        by_chapter: Dict[Tuple[str, str], List[Tuple[str, str]]] = {}
        for spk, path, words, _ in chosen:
            sid = spk_ids[spk]
            chap = str(5000 + int(sid))
            d = root / subset / sid / chap
            d.mkdir(parents=True, exist_ok=True)
            n = len(by_chapter.setdefault((sid, chap), []))
            utt = f"{sid}-{chap}-{n:04d}"
            x, sr = sf.read(str(path), dtype="float32")
            sf.write(str(d / f"{utt}.flac"), x, sr, format="FLAC", subtype="PCM_16")
            by_chapter[(sid, chap)].append((utt, words))
            ids[subset].append(utt)
        for (sid, chap), lines in by_chapter.items():
            (root / subset / sid / chap / f"{sid}-{chap}.trans.txt").write_text(
                "".join(f"{u} {w}\n" for u, w in lines))
    return ids


def make_demand(root: Path, noise_dir: Path, names: Sequence[str] = SEEN + UNSEEN,
                seconds: float = 6.0) -> Dict[str, Path]:
    """``root/<ENV>/ch01.wav`` for every name: a different cut (and gain) of the
    shared noise recordings per environment."""
    recs = sorted(noise_dir.glob("*.wav"))
    assert recs, f"no noise recordings in {noise_dir}"
    out = {}
    n = int(seconds * 16000)
    for i, name in enumerate(names):
        x, sr = sf.read(str(recs[i % len(recs)]), dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        start = (i // len(recs)) * n % max(1, len(x) - n)
        seg = np.resize(x[start:], n) * (0.5 + 0.1 * (i % 5))
        p = root / name / "ch01.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(p), seg, sr)
        out[name] = p
    return out
