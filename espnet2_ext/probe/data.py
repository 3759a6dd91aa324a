"""Reading the probe's clean speech: a Kaldi data dir or ``wav.scp`` (file I/O only).

``wav.scp`` lines are ``ID PATH`` (relative paths are taken from the current
directory, as Kaldi does); soundfile reads WAV, FLAC and NIST SPHERE.  Only
16 kHz mono audio is accepted.  Tables and audio are read by the recipes'
readers (:mod:`espnet2_ext.recipe.common`, which load neither ESPnet nor
torch); every problem is a :class:`ProbeError` whose message names the file,
line or utterance.
"""

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

from espnet2_ext.recipe.common.audio import SAMPLE_RATE, read_audio
from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import read_table, wav_path


class ProbeError(ValueError):
    """Bad input to the probe (message names the value and why)."""


def wav_scp_path(data: str) -> Path:
    """``DATA/wav.scp`` for a data dir, ``DATA`` for a file."""
    p = Path(data)
    if p.is_dir():
        scp = p / "wav.scp"
        if not scp.is_file():
            raise ProbeError(f"data dir {p} has no wav.scp")
        return scp
    if not p.is_file():
        raise ProbeError(f"--data {p} does not exist (expected a Kaldi data dir or a wav.scp)")
    return p


def _table(path: Path, what: str) -> Dict[str, str]:
    try:
        return read_table(path, what)
    except RecipeError as e:
        raise ProbeError(str(e)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProbeError(f"cannot read {path}: {e}") from None


def read_wav_scp(data: str) -> List[Tuple[str, str]]:
    """``[(utt_id, path), ...]`` in file order from a data dir or ``wav.scp``."""
    scp = wav_scp_path(data)
    out: List[Tuple[str, str]] = []
    for utt, value in _table(scp, "wav.scp").items():
        if not value.strip():
            raise ProbeError(f"{scp}: utterance {utt} has no path (expected 'ID PATH' lines)")
        try:
            out.append((utt, wav_path(value, f"{scp}: utterance {utt}")))
        except RecipeError as e:
            raise ProbeError(f"{e}; write the audio to files") from None
    if not out:
        raise ProbeError(f"no utterances in {scp}")
    return out


def read_text(data: str) -> Optional[Dict[str, str]]:
    """Transcriptions ``DATA/text`` of a data dir (None when there is none)."""
    p = Path(data)
    text = p / "text" if p.is_dir() else p.parent / "text"
    return _table(text, "transcriptions") if text.is_file() else None


def load_utterance(utt: str, path: str, min_samples: int) -> torch.Tensor:
    """A 16 kHz mono utterance as a float32 waveform (T,).

    Raises ProbeError naming the file (unreadable, not mono, not 16 kHz) and
    the utterance, or the utterance when shorter than ``min_samples``, the
    upstream's minimum.
    """
    try:
        x, sr = read_audio(path)
    except RecipeError as e:
        raise ProbeError(f"utterance {utt}: {e}") from None
    if sr != SAMPLE_RATE:
        raise ProbeError(f"utterance {utt}: {path} is {sr} Hz; the probe needs {SAMPLE_RATE} Hz audio (resample it)")
    if x.shape[0] < min_samples:
        raise ProbeError(
            f"utterance {utt} ({path}) has {x.shape[0]} samples, shorter than the upstream's minimum of "
            f"{min_samples} ({min_samples / SAMPLE_RATE * 1000:.0f} ms)"
        )
    return torch.from_numpy(x)
