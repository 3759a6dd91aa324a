"""Training-time waveform perturbations on padded batches (pure functions).

Every function takes a padded batch ``wav`` (B, T) with valid lengths
``lengths`` (B,), only reads each utterance's valid part, and returns
``(wav_out, lengths_out)`` where ``wav_out`` is (B, max(lengths_out)) and
zero beyond ``lengths_out[b]``.  All are differentiable w.r.t. ``wav``.
"""

import math
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

Number = Union[int, float]
_WHERE = ("start", "end", "both")


def check_batch(wav: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Validate a padded batch ``wav`` (B, T) and its lengths (B,).

    ``lengths=None`` means every utterance is T samples long.  Returns the
    lengths as a long tensor on ``wav``'s device; raises ValueError naming the
    offending value otherwise.
    """
    if not isinstance(wav, torch.Tensor) or wav.dim() != 2:
        shape = tuple(wav.shape) if isinstance(wav, torch.Tensor) else type(wav).__name__
        raise ValueError(f"wav must be a (batch, samples) tensor, got {shape}")
    B, T = wav.shape
    if lengths is None:
        return torch.full((B,), T, dtype=torch.long, device=wav.device)
    lengths = torch.as_tensor(lengths, device=wav.device)
    if lengths.dim() != 1 or lengths.shape[0] != B:
        raise ValueError(f"lengths must have shape ({B},), got {tuple(lengths.shape)}")
    if lengths.is_floating_point():
        raise ValueError("lengths must be integer sample counts")
    lengths = lengths.long()
    bad = ((lengths < 0) | (lengths > T)).nonzero()
    if bad.numel():
        b = int(bad[0, 0])
        what = "exceeds the waveform length" if int(lengths[b]) > T else "is negative; lengths must lie in [0, T], T ="
        raise ValueError(f"lengths[{b}]={int(lengths[b])} {what} {T}")
    return lengths


def _per_utt(x, B: int, what: str, device, dtype) -> torch.Tensor:
    t = torch.as_tensor(x, device=device)
    if t.dim() == 0:
        t = t.expand(B)
    if t.dim() != 1 or t.shape[0] != B:
        raise ValueError(f"{what} must be a scalar or have shape ({B},), got {tuple(t.shape)}")
    return t.to(dtype)


def zero_pad(
    wav: torch.Tensor,
    lengths: torch.Tensor,
    pad: Union[torch.Tensor, int],
    where: str = "start",
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Insert ``pad[b]`` zero samples into each utterance.

    ``where="start"`` puts them before the first sample, ``"end"`` right after
    the last *valid* sample, ``"both"`` ``pad // 2`` before and the rest after.
    ``pad`` is a (B,) integer tensor (or one int for the whole batch).

    Returns ``(wav_out, lengths + pad)``; ``wav_out`` has
    ``max(lengths + pad)`` samples and is zero beyond each new length.
    """
    lengths = check_batch(wav, lengths)
    B, T = wav.shape
    if where not in _WHERE:
        raise ValueError(f"where must be one of {_WHERE}, got {where!r}")
    pad_t = torch.as_tensor(pad, device=wav.device)
    if pad_t.is_floating_point():
        raise ValueError("pad must be integer sample counts")
    pad_t = _per_utt(pad_t, B, "pad", wav.device, torch.long)
    if bool((pad_t < 0).any()):
        raise ValueError(f"pad must be non-negative, got {pad_t.tolist()}")

    new_len = lengths + pad_t
    T_out = int(new_len.max()) if B > 0 else 0
    if where == "start":
        offset = pad_t
    elif where == "end":
        offset = torch.zeros_like(pad_t)
    else:
        offset = torch.div(pad_t, 2, rounding_mode="floor")
    # out[b, j] = wav[b, j - offset[b]] where 0 <= j - offset[b] < lengths[b], else 0
    src = torch.arange(T_out, device=wav.device)[None, :] - offset[:, None]
    valid = (src >= 0) & (src < lengths[:, None])
    if T == 0:
        return wav.new_zeros(B, T_out), new_len
    gathered = torch.gather(wav, 1, src.clamp(0, T - 1))
    out = torch.where(valid, gathered, torch.zeros((), dtype=wav.dtype, device=wav.device))
    return out, new_len


def speed_perturb(
    wav: torch.Tensor,
    lengths: torch.Tensor,
    factors: Union[torch.Tensor, Number],
    sample_rate: int = 16000,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Change the speed (tempo and pitch) of each utterance by ``factors[b]``.

    ``factor > 1`` is faster (shorter): the valid part of the utterance is
    resampled with ``torchaudio.functional.resample(orig_freq=round(sr *
    factor), new_freq=sr)``, giving ``ceil(len * sr / round(sr * factor))``
    (about ``len / factor``) samples.  Utterances sharing a factor are
    resampled together (zero tails do not leak into valid samples).  Factor
    1.0 leaves the utterance unchanged.

    Returns ``(wav_out, lengths_out)``.
    """
    import torchaudio.functional as AF

    lengths = check_batch(wav, lengths)
    B, T = wav.shape
    sr = int(sample_rate)
    if sr <= 0 or sr != sample_rate:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    fac = _per_utt(factors, B, "factors", torch.device("cpu"), torch.float64)
    if not bool(torch.isfinite(fac).all()) or bool((fac <= 0).any()):
        raise ValueError(f"speed factors must be finite and > 0, got {fac.tolist()}")
    if not wav.is_floating_point():
        raise ValueError("wav must be a floating-point tensor")

    pieces = [None] * B
    new_len = [0] * B
    len_list = lengths.tolist()
    fac_list = fac.tolist()
    for f in sorted(set(fac_list)):
        idx = [b for b in range(B) if fac_list[b] == f]
        orig = int(round(sr * f))
        if orig <= 0:
            raise ValueError(f"speed factor {f} is too small for sample_rate {sr}")
        if orig == sr:  # identity
            for b in idx:
                pieces[b] = wav[b, : len_list[b]]
                new_len[b] = len_list[b]
            continue
        lmax = max(len_list[b] for b in idx)
        group = wav[idx, :lmax]
        if any(len_list[b] < lmax for b in idx):
            m = torch.arange(lmax, device=wav.device)[None, :] < lengths[idx][:, None]
            group = group.masked_fill(~m, 0.0)
        res = AF.resample(group, orig_freq=orig, new_freq=sr)
        g = math.gcd(orig, sr)
        o, n = orig // g, sr // g
        for row, b in enumerate(idx):
            nl = min(-(-len_list[b] * n // o), res.shape[-1])
            pieces[b] = res[row, :nl]
            new_len[b] = nl

    T_out = max(new_len) if B > 0 else 0
    out = torch.stack([F.pad(p, (0, T_out - p.shape[0])) for p in pieces]) if B > 0 else wav.new_zeros(0, 0)
    return out, torch.tensor(new_len, dtype=torch.long, device=wav.device)
