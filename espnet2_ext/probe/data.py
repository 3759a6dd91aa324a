"""Reading the probe's clean speech: a Kaldi data dir or ``wav.scp`` (file I/O only).

``wav.scp`` lines are ``ID PATH`` (relative paths are taken from the current
directory, as Kaldi does); soundfile reads WAV, FLAC and NIST SPHERE.  Only
16 kHz mono audio is accepted.  Every problem is a :class:`ProbeError` whose
message names the file, line or utterance.
"""

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

SAMPLE_RATE = 16000


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


def read_wav_scp(data: str) -> List[Tuple[str, str]]:
    """``[(utt_id, path), ...]`` in file order from a data dir or ``wav.scp``."""
    scp = wav_scp_path(data)
    out: List[Tuple[str, str]] = []
    seen = set()
    try:
        lines = scp.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ProbeError(f"cannot read {scp}: {e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) < 2:
            raise ProbeError(f"{scp}:{n}: expected 'ID PATH', got {line.strip()!r}")
        utt, path = parts[0], parts[1].strip()
        if path.endswith("|"):
            raise ProbeError(f"{scp}:{n}: piped entries are not supported ({path!r}); write the audio to files")
        if utt in seen:
            raise ProbeError(f"{scp}:{n}: duplicate utterance id {utt!r}")
        seen.add(utt)
        out.append((utt, path))
    if not out:
        raise ProbeError(f"no utterances in {scp}")
    return out


def read_text(data: str) -> Optional[Dict[str, str]]:
    """Transcriptions ``DATA/text`` of a data dir (None when there is none)."""
    p = Path(data)
    text = p / "text" if p.is_dir() else p.parent / "text"
    if not text.is_file():
        return None
    out = {}
    for line in text.read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=1)
        if parts:
            out[parts[0]] = parts[1] if len(parts) > 1 else ""
    return out


def load_utterance(utt: str, path: str, min_samples: int) -> torch.Tensor:
    """A 16 kHz mono utterance as a float32 waveform (T,).

    Raises ProbeError naming the file (unreadable, not mono, not 16 kHz) or
    the utterance (shorter than ``min_samples``, the upstream's minimum).
    """
    import soundfile as sf

    try:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises several types
        raise ProbeError(f"utterance {utt}: cannot read audio file {path}: {e}") from None
    if x.shape[1] != 1:
        raise ProbeError(f"utterance {utt}: {path} has {x.shape[1]} channels; mono audio is expected")
    if sr != SAMPLE_RATE:
        raise ProbeError(f"utterance {utt}: {path} is {sr} Hz; the probe needs {SAMPLE_RATE} Hz audio (resample it)")
    if x.shape[0] < min_samples:
        raise ProbeError(
            f"utterance {utt} ({path}) has {x.shape[0]} samples, shorter than the upstream's minimum of "
            f"{min_samples} ({min_samples / SAMPLE_RATE * 1000:.0f} ms)"
        )
    return torch.from_numpy(x[:, 0].copy())
