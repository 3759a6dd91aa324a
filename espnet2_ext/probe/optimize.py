"""The training-time view: optimise a content-free waveform against a loss (functional core).

Starting from ``x_0`` = :func:`~espnet2_ext.probe.signals.envelope_noise` of
the reference ``u`` (``u``'s length and energy envelope, no content), the
waveform itself is optimised with Adam for a fixed number of steps to
minimise one loss on one layer against ``u``, as a front-end's output would
be in training: every step draws a fresh training-time perturbation of the
reference (seeded by step).  Reported, before and after:

* the loss against a fixed draw of the reference (the one the measures of
  :mod:`espnet2_ext.probe.measures` use), so start and end are comparable;
* a content measure needing no recognizer, the log-mel distance to ``u``
  (:func:`logmel_distance`);
* optionally a recognizer's word errors against ``u``'s transcription.

A loss that falls while the content measures do not improve is the
positional shortcut, shown directly.
"""

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch

from espnet2_ext.probe import signals
from espnet2_ext.probe.losses import ProbeLoss, seed_for
from espnet2_ext.ssl import parse_layers

#: log-mel front end: 25 ms windows, 10 ms hop, 80 mel bands, 16 kHz, floor -80 dB
N_FFT, MEL_HOP, N_MELS, DB_FLOOR = 400, 160, 80, 1e-8


@dataclass(frozen=True)
class OptimizeConfig:
    """``steps`` Adam steps of learning rate ``lr`` on the waveform, loss taken at ``layer``."""

    steps: int = 30
    lr: float = 1e-4
    layer: int = -1
    seed: int = 0

    def __post_init__(self):
        if self.steps < 0:
            raise ValueError(f"optimisation steps must be >= 0, got {self.steps}")
        if not self.lr > 0:
            raise ValueError(f"optimisation learning rate must be > 0, got {self.lr}")


def logmel(x: torch.Tensor, sample_rate: int = 16000) -> torch.Tensor:
    """Log-mel spectrogram in dB: (T,) -> (frames, 80); power floored at 1e-8 (-80 dB)."""
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=N_FFT, hop_length=MEL_HOP, n_mels=N_MELS, power=2.0
    ).to(x.device)
    return 10.0 * torch.log10(mel(x.detach().float()).clamp(min=DB_FLOOR)).T


def logmel_distance(x: torch.Tensor, ref: torch.Tensor) -> float:
    """Mean absolute log-mel difference (dB) between ``x`` and ``ref`` (both (T,), same length)."""
    if x.shape != ref.shape:
        raise ValueError(f"logmel_distance: shapes differ, {tuple(x.shape)} vs {tuple(ref.shape)}")
    return float((logmel(x) - logmel(ref)).abs().mean())


def word_errors(ref: str, hyp: str) -> Tuple[int, int]:
    """Word-level Levenshtein distance and reference word count (case-insensitive)."""
    r, h = ref.upper().split(), hyp.upper().split()
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1], len(r)


def optimize_utterance(
    up,
    loss: ProbeLoss,
    u: torch.Tensor,
    cfg: OptimizeConfig,
    key: str,
    recognize: Optional[Callable[[torch.Tensor], str]] = None,
    transcript: Optional[str] = None,
) -> Dict[str, float]:
    """Optimise a content-free start towards ``u`` (T,) under ``loss``; returns the measures before and after.

    Keys: ``loss_start``, ``loss_end``, ``logmel_start``, ``logmel_end``
    (dB), and with ``recognize`` and ``transcript``: ``errors_start``,
    ``errors_end``, ``errors_ref`` (the recognizer on ``u`` itself) and
    ``words``.  ``cfg.layer`` indexes the hidden states (negative: from the
    end).
    """
    layer = parse_layers(cfg.layer, up.num_layers)[0]  # ValueError naming a bad index
    gen = torch.Generator().manual_seed(seed_for(cfg.seed, key, "envelope"))
    start = signals.envelope_noise(u.cpu(), gen).to(u.device)  # the probe's ``envelope`` candidate
    lengths = torch.tensor([u.shape[0]], device=u.device)

    fixed = loss.reference(up, u, seed_for(cfg.seed, key, loss.name))

    def fixed_value(x: torch.Tensor) -> float:
        with torch.no_grad():
            feats, flen = up.extract_layers(x[None], lengths)
            return float(loss.compare_layer(fixed[0][layer], fixed[1], feats[layer], flen, fixed[2]).sum())

    x = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=cfg.lr)
    cached = None
    for step in range(cfg.steps):
        if cached is None:
            ref, ref_len, info, changed = loss.perturb(u, seed_for(cfg.seed, key, loss.name, "step", step), up)
            with torch.no_grad():
                ref_layers, ref_flen = up.extract_layers(ref, ref_len)
            target = (ref_layers[layer], ref_flen, info)
            if not changed:  # no perturbation: the same target every step
                cached = target
        else:
            target = cached
        feats, flen = up.extract_layers(x[None], lengths)
        value = loss.compare_layer(target[0], target[1], feats[layer], flen, target[2]).sum()
        opt.zero_grad()
        value.backward()
        opt.step()

    end = x.detach()
    out = {
        "loss_start": fixed_value(start),
        "loss_end": fixed_value(end),
        "logmel_start": logmel_distance(start, u),
        "logmel_end": logmel_distance(end, u),
    }
    if recognize is not None and transcript is not None:
        out["errors_start"], out["words"] = word_errors(transcript, recognize(start))
        out["errors_end"], _ = word_errors(transcript, recognize(end))
        out["errors_ref"], _ = word_errors(transcript, recognize(u))
    return out


def summarize_optimization(rows: Sequence[Dict[str, float]]) -> Dict[str, Optional[float]]:
    """Means over utterances, the relative loss drop ``1 - mean(loss_end) / mean(loss_start)`` and corpus WERs (%)."""
    if not rows:
        raise ValueError("summarize_optimization: no utterances")
    n = len(rows)
    mean = {k: sum(r[k] for r in rows) / n for k in ("loss_start", "loss_end", "logmel_start", "logmel_end")}
    out: Dict[str, Optional[float]] = dict(mean, n=n)
    out["loss_drop"] = 1.0 - mean["loss_end"] / mean["loss_start"] if mean["loss_start"] else None
    out["logmel_change"] = mean["logmel_end"] - mean["logmel_start"]
    if all("words" in r for r in rows):
        words = sum(r["words"] for r in rows)
        for what in ("start", "end", "ref"):
            out[f"wer_{what}"] = 100.0 * sum(r[f"errors_{what}"] for r in rows) / words if words else None
    return out
