"""Audio validation shared by the corpus readers, and what to do with bad audio."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from espnet2_ext.recipe.common.audio import MIN_SAMPLES, SAMPLE_RATE
from espnet2_ext.recipe.common.cli import RecipeError, progress
from espnet2_ext.recipe.common.kaldi import write_data_dir, write_text_atomic


@dataclass
class Utterance:
    orig_id: str  # the corpus's id, e.g. AN4's an104-mrcb-b
    utt_id: str  # speaker-first id, e.g. mrcb-an104-b
    spk: str
    path: Path
    words: str
    num_samples: int = 0


@dataclass
class BadAudio:
    utt_id: str
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.utt_id} ({self.path}): {self.reason}"


def check_audio(path: Path) -> Tuple[Optional[str], int]:
    """Validate one audio file; returns ``(reason or None, number of samples)``."""
    import numpy as np
    import soundfile as sf

    if not path.exists():
        return "listed but missing", 0
    if path.stat().st_size == 0:
        return "empty file (0 bytes)", 0
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:
        return f"unreadable ({str(e).strip() or type(e).__name__})", 0
    if x.shape[0] == 0:
        return "empty (no samples)", 0
    if x.shape[1] != 1:
        return f"not mono ({x.shape[1]} channels)", x.shape[0]
    if sr != SAMPLE_RATE:
        return f"wrong sample rate {sr} Hz (expected {SAMPLE_RATE})", x.shape[0]
    if x.shape[0] < MIN_SAMPLES:
        return (f"too short: {x.shape[0]} samples, the SSL model needs >= {MIN_SAMPLES}",
                x.shape[0])
    if not np.any(x):
        return "silent (all samples are zero)", x.shape[0]
    return None, x.shape[0]


def keep_valid(utts: List[Utterance], bad: List[BadAudio], desc: str) -> List[Utterance]:
    """Check the audio of ``utts`` (recording their lengths); the bad ones go to
    ``bad``, the others are returned."""
    for u in progress(list(utts), f"validate {desc}"):
        reason, u.num_samples = check_audio(u.path)
        if reason:
            bad.append(BadAudio(u.utt_id, u.path, reason))
    bad_ids = {b.utt_id for b in bad}
    return [u for u in utts if u.utt_id not in bad_ids]


def settle_bad_audio(bad: Sequence[BadAudio], corpus: str, data_dir: Path, skip: bool) -> None:
    """Stop with the list of bad utterances, or (``skip``) warn; either way
    ``data_dir/bad_audio.txt`` lists what was left out."""
    if bad:
        listing = "\n".join(f"  {b}" for b in bad)
        if not skip:
            raise RecipeError(
                f"{len(bad)} {corpus} utterance(s) cannot be used:\n{listing}\n"
                "fix or remove them, or rerun with --skip_bad_audio true to leave them out")
        print(f"warning: skipping {len(bad)} bad utterance(s):\n{listing}", flush=True)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    write_text_atomic(Path(data_dir) / "bad_audio.txt",
                      "".join(f"{b.utt_id} {b.path} {b.reason}\n" for b in bad))


def write_set(out: Path, utts: Sequence[Utterance], suffix: str = "") -> None:
    """A clean data dir of ``utts`` (ids suffixed by ``suffix``)."""
    if not utts:
        raise RecipeError(f"no usable utterances for {out}")
    ids = {u.utt_id: u.utt_id + suffix for u in utts}
    write_data_dir(
        out,
        wav={ids[u.utt_id]: str(u.path.resolve()) for u in utts},
        text={ids[u.utt_id]: u.words for u in utts},
        utt2spk={ids[u.utt_id]: u.spk for u in utts},
        utt2dur={ids[u.utt_id]: u.num_samples / SAMPLE_RATE for u in utts},
    )
