"""Simulated mixtures of N speakers from a clean data directory (stage 2).

Which utterances form a mixture (:func:`mixture_sources`):

* N = 1 (enhancement): every utterance alone, ``--copies`` times
  (ids ``UTT``, or ``UTT-c1``, ``UTT-c2``, ... with several copies);
* N >= 2 (separation, WHAMR!-style): every utterance as the first speaker,
  with ``--copies`` distinct sets of partner utterances of N - 1 other speakers
  of the same set (ids ``UTT1_UTT2[_...]``).

Per mixture, from a random stream seeded by ``--seed`` and the mixture id (so
that results do not depend on order), in this order:

1. with ``--reverb true``: one random shoe-box room holding every speaker
   (RT60 drawn from ``--rt60``); each source's RIR is aligned to its direct path;
2. N >= 2: speaker k starts ``offset`` seconds after speaker 1 (drawn from
   ``--offsets``, at most speaker 1's length) at a level ``sir`` dB below
   speaker 1 (drawn from ``--sir_range``); the mixture spans every utterance
   (WHAMR!'s ``max`` mode: nothing is cut, so transcriptions stay complete);
3. the SNR, drawn from ``--snrs``, of the noise against the (reverberant)
   speech of all speakers;
4. the noise (:mod:`.noise`): a segment of a recording (of ``--noise_scp``,
   by default the clean dir's ``noise_sources.scp`` when its corpus reader
   wrote one, or of ``--noise_dir``), or generated noise.

If the mixture would clip, every signal is scaled by the same gain.

Output data dir (ESPnet's names for enhancement / separation data):

=====================  =======================================================
``wav.scp``            the mixture
``spk{n}.scp``         speaker n as the model is to output it: the dry speech;
                       with ``--reverb true``, ``--reference early`` (direct
                       path + 50 ms of reflections, default for N = 1) or
                       ``reverberant`` (the whole image, WHAMR!'s
                       ``s{n}_reverb``, default for N >= 2)
``dereverb{n}.scp``    the dry speech of speaker n (without reverberation the
                       same files as ``spk{n}.scp``)
``noise1.scp``         the scaled noise
``text_spk{n}``        the transcription of speaker n; ``text``: all of them
``utt2spk``            N = 1: the speaker; N >= 2: the mixture itself (a
                       separation set has no single speaker); ``utt2spks``: all
``utt2snr``, ``utt2noise``, ``utt2rt60``, ``utt2dur``; N >= 2: ``utt2offset``,
``utt2sir`` (of speakers 2..N)
=====================  =======================================================
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_ext.recipe.common.audio import SAMPLE_RATE, read_16k, write_wav
from espnet2_ext.recipe.common.cli import RecipeError, parse_numbers, progress, run_cli, str2bool
from espnet2_ext.recipe.common.kaldi import read_table, wav_path, write_data_dir
from espnet2_ext.recipe.simulate.mixing import draw_offsets, mix, place, utt_rng
from espnet2_ext.recipe.simulate.noise import GENERATED, NoiseSource
from espnet2_ext.recipe.simulate.room import convolve, early, room_rirs

REFERENCES = ("early", "reverberant")


def mixture_sources(utt2spk: Dict[str, str], num_spk: int, seed: int, copies: int = 1
                    ) -> List[Tuple[str, Tuple[str, ...]]]:
    """``(mixture id, utterances)`` of every mixture (see the module doc)."""
    if copies < 1:
        raise RecipeError(f"--copies must be >= 1, got {copies}")
    utts = sorted(utt2spk)
    if num_spk == 1:
        return [(u if copies == 1 else f"{u}-c{c + 1}", (u,)) for u in utts for c in range(copies)]
    if len(set(utt2spk.values())) < num_spk:
        raise RecipeError(f"{num_spk}-speaker mixtures need at least {num_spk} speakers in the set")

    def others(chosen):
        taken = {utt2spk[v] for v in chosen}
        return [v for v in utts if utt2spk[v] not in taken]

    out = []
    for u in utts:
        rng = utt_rng(seed, "pair:" + u)
        cand = others([u])
        if copies == 1:
            seconds = [cand[int(rng.integers(len(cand)))]]
        else:
            pick = rng.choice(len(cand), size=min(copies, len(cand)), replace=False)
            seconds = [cand[int(i)] for i in sorted(pick)]
        for second in seconds:
            chosen = [u, second]
            while len(chosen) < num_spk:
                cand_k = others(chosen)
                chosen.append(cand_k[int(rng.integers(len(cand_k)))])
            out.append(("_".join(chosen), tuple(chosen)))
    return out


def simulate(
    src_dir: Path,
    out_dir: Path,
    wav_dir: Path,
    part: str,
    snrs: Sequence[float],
    num_spk: int = 1,
    noise_dir: Optional[Path] = None,
    noise_scp: Optional[Path] = None,
    generated: Optional[Sequence[str]] = None,
    babble_dir: Optional[Path] = None,
    reverb: bool = False,
    reference: Optional[str] = None,
    seed: int = 0,
    copies: int = 1,
    offsets: Sequence[float] = (0.0, 1.0),
    sir_range: Sequence[float] = (0.0, 5.0),
    rt60_range: Sequence[float] = (0.2, 0.5),
    train_fraction: float = 0.8,
    peak: float = 0.9,
) -> int:
    """Simulate the mixtures of ``src_dir`` into ``out_dir`` (audio under ``wav_dir``);
    returns their number.  ``generated`` defaults to coloured noise and babble
    for N = 1, coloured noise for N >= 2; ``reference`` to ``early`` for N = 1,
    ``reverberant`` for N >= 2."""
    if num_spk < 1:
        raise RecipeError(f"--num_spk must be >= 1, got {num_spk}")
    if not snrs:
        raise RecipeError("no SNRs given (--snrs)")
    if len(offsets) != 2 or not 0 <= offsets[0] <= offsets[1]:
        raise RecipeError(f"--offsets must be 'MIN MAX' seconds, 0 <= MIN <= MAX, got {offsets}")
    if len(sir_range) != 2 or sir_range[0] > sir_range[1]:
        raise RecipeError(f"--sir_range must be 'MIN MAX' dB, got {sir_range}")
    if len(rt60_range) != 2 or not 0 < rt60_range[0] <= rt60_range[1]:
        raise RecipeError(f"--rt60 must be 'MIN MAX' seconds, 0 < MIN <= MAX, got {rt60_range}")
    reference = reference or REFERENCES[num_spk > 1]
    if reference not in REFERENCES:
        raise RecipeError(f"--reference must be one of {', '.join(REFERENCES)}, got {reference!r}")
    src_dir, out_dir, wav_dir = Path(src_dir), Path(out_dir), Path(wav_dir)
    wav = read_table(src_dir / "wav.scp", "clean wav.scp")
    text = read_table(src_dir / "text", "clean text")
    utt2spk = read_table(src_dir / "utt2spk", "clean utt2spk")
    noise = NoiseSource(part, train_fraction, noise_dir, noise_scp,
                        generated or (GENERATED if num_spk == 1 else GENERATED[:1]),
                        babble_dir or src_dir)
    spk = [f"spk{n}" for n in range(1, num_spk + 1)]
    dry = [f"dereverb{n}" for n in range(1, num_spk + 1)]
    tables: Dict[str, Dict[str, object]] = {}

    def put(name: str, key: str, value) -> None:
        tables.setdefault(name, {})[key] = value

    sources = mixture_sources(utt2spk, num_spk, seed, copies)
    for key, utts in progress(sources, f"simulate {out_dir.name}"):
        rng = utt_rng(seed, key)
        speech = [read_16k(wav_path(wav[u], str(src_dir / "wav.scp")), wav[u]) for u in utts]
        rt60 = 0.0
        if reverb:
            rirs, rt60 = room_rirs(rng, num_spk, rt60_range)
            wet = [convolve(x, h) for x, h in zip(speech, rirs)]
            refs = wet if reference == "reverberant" else [convolve(x, early(h)) for x, h in zip(speech, rirs)]
            images = [wet, refs, speech]
        else:
            images = [speech, speech]
        starts, sirs = draw_offsets(rng, len(speech[0]), num_spk, offsets, sir_range, SAMPLE_RATE)
        placed = place(images, starts, sirs)
        reverberant = functools.reduce(np.add, placed[0])
        snr = float(snrs[int(rng.integers(len(snrs)))])
        n, spks = len(reverberant), [utt2spk[u] for u in utts]
        noise_sig, kind = noise.draw(rng, n, spks)
        m, _, scaled_noise, g = mix(reverberant, noise_sig, snr, peak)
        files = {"wav.scp": m, "noise1.scp": scaled_noise}
        files.update({f"{s}.scp": x * g for s, x in zip(spk, placed[1])})
        if reverb:
            files.update({f"{d}.scp": x * g for d, x in zip(dry, placed[2])})
        for name, x in files.items():
            p = wav_dir / ("mix" if name == "wav.scp" else name[:-4]) / f"{key}.wav"
            write_wav(p, x)
            put(name, key, str(p.resolve()))
        if not reverb:  # the dry speech is the reference itself
            for s, d in zip(spk, dry):
                put(f"{d}.scp", key, tables[f"{s}.scp"][key])
        for k, u in enumerate(utts, 1):
            put(f"text_spk{k}", key, text[u])
        put("text", key, " ".join(text[u] for u in utts).strip())
        put("utt2spk", key, spks[0] if num_spk == 1 else key)
        put("utt2spks", key, " ".join(spks))
        put("utt2dur", key, n / SAMPLE_RATE)
        put("utt2snr", key, f"{snr:g}")
        put("utt2noise", key, kind)
        put("utt2rt60", key, f"{rt60:.3f}")
        if num_spk > 1:
            put("utt2offset", key, " ".join(f"{s / SAMPLE_RATE:.3f}" for s in starts))
            put("utt2sir", key, " ".join(f"{s:.2f}" for s in sirs))
    basic = ("wav.scp", "text", "utt2spk", "utt2dur")
    write_data_dir(out_dir, *(tables[b] for b in basic),
                   extra={k: v for k, v in tables.items() if k not in basic})
    return len(sources)


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="simulate_noisy", description=__doc__.split("\n\n")[0])
    p.add_argument("--src_dir", required=True, help="clean Kaldi data dir")
    p.add_argument("--out_dir", required=True, help="output data dir, e.g. data/test_noisy")
    p.add_argument("--wav_dir", required=True, help="where the simulated audio goes")
    p.add_argument("--part", choices=("train", "eval"), required=True,
                   help="which part of each noise recording to draw from")
    p.add_argument("--num_spk", type=int, default=1, help="speakers per mixture")
    p.add_argument("--snrs", default="20 10 5 0", help="noise SNRs (dB) to draw from")
    p.add_argument("--noise_dir", default="", help="folder of noise recordings (empty: generated)")
    p.add_argument("--noise_scp", default="",
                   help="NAME PATH list of noise recordings (instead of --noise_dir; default: "
                        "SRC_DIR/noise_sources.scp when the corpus reader wrote one)")
    p.add_argument("--generated_noise", default="",
                   help=f"kinds of generated noise ({' '.join(GENERATED)}; default: both for "
                        "one speaker, coloured for mixtures)")
    p.add_argument("--babble_dir", default="",
                   help="data dir whose speakers make the generated babble (default: --src_dir)")
    p.add_argument("--reverb", type=str2bool, default=False)
    p.add_argument("--reference", default="", choices=("",) + REFERENCES,
                   help="what spk{n}.scp holds with --reverb true (default: early for one "
                        "speaker, reverberant for mixtures)")
    p.add_argument("--rt60", default="0.2 0.5", help="MIN MAX reverberation time (s)")
    p.add_argument("--offsets", default="0 1.0", help="MIN MAX start of speakers 2..N (s)")
    p.add_argument("--sir_range", default="0 5", help="MIN MAX level of speaker 1 over the others (dB)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--copies", type=int, default=1,
                   help="mixtures per utterance (N >= 2: distinct partner utterances)")
    p.add_argument("--train_fraction", type=float, default=0.8,
                   help="share of each noise recording drawn for --part train")
    return p


def main(argv=None) -> int:
    a = get_parser().parse_args(argv)
    opt = lambda value: Path(value) if value else None  # noqa: E731
    listed = Path(a.src_dir) / "noise_sources.scp"
    if not a.noise_scp and listed.is_file():
        a.noise_scp = str(listed)
    n = simulate(Path(a.src_dir), Path(a.out_dir), Path(a.wav_dir), a.part,
                 parse_numbers(a.snrs, "--snrs"), num_spk=a.num_spk, noise_dir=opt(a.noise_dir),
                 noise_scp=opt(a.noise_scp), generated=a.generated_noise.split(),
                 babble_dir=opt(a.babble_dir), reverb=a.reverb, reference=a.reference,
                 seed=a.seed, copies=a.copies, offsets=parse_numbers(a.offsets, "--offsets"),
                 sir_range=parse_numbers(a.sir_range, "--sir_range"),
                 rt60_range=parse_numbers(a.rt60, "--rt60"), train_fraction=a.train_fraction)
    what = "utterances" if a.num_spk == 1 else f"{a.num_spk}-speaker mixtures"
    print(f"simulated {n} {what} into {a.out_dir}")
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
