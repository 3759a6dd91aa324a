"""Utterance lengths for length-aware enhancement criterions.

ESPnet calls an enhancement criterion as ``criterion(ref, inf)`` with both
signals zero-padded to the longest utterance of the batch and no lengths.
:mod:`espnet2_ext.plugin` makes ``ESPnetEnhancementModel.forward_loss`` run
inside :func:`utterance_lengths` with the batch's ``speech_lengths``, so that
every criterion it calls, through any wrapper (``fixed_order``, ``pit``,
``gpit``, ...), can read the true lengths with :func:`resolve_lengths`.

Precedence in :func:`resolve_lengths`:

1. lengths passed explicitly to the criterion;
2. the lengths of the current ``forward_loss`` call, when they fit the batch
   (same batch size, none longer than the signals);
3. fallback: each utterance is taken to end at its last non-zero reference
   sample (trailing exact zeros are treated as padding).  This is exact for
   ESPnet's zero padding unless a clean reference itself ends in digital
   silence, in which case that silence is ignored by the loss.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Optional

import torch

_CURRENT: ContextVar[Optional[torch.Tensor]] = ContextVar(
    "espnet2_ext_utterance_lengths", default=None
)


@contextmanager
def utterance_lengths(lengths: Optional[torch.Tensor]) -> Iterator[None]:
    """Make ``lengths`` (B,) the current batch's utterance lengths."""
    token = _CURRENT.set(lengths)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_lengths() -> Optional[torch.Tensor]:
    """The lengths set by the innermost :func:`utterance_lengths`, or None."""
    return _CURRENT.get()


def lengths_from_padding(ref: torch.Tensor) -> torch.Tensor:
    """(B, T) -> (B,) index of the last non-zero sample + 1 (T if all zero)."""
    nonzero = ref.detach() != 0
    if nonzero.dim() > 2:
        nonzero = nonzero.flatten(2).any(-1)
    T = nonzero.size(1)
    idx = torch.arange(1, T + 1, device=ref.device).expand_as(nonzero)
    last = torch.where(nonzero, idx, torch.zeros_like(idx)).max(dim=1).values
    return torch.where(last > 0, last, torch.full_like(last, T))


def resolve_lengths(
    ref: torch.Tensor, lengths: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Per-utterance lengths (B,) long for the padded batch ``ref`` (B, T, ...).

    Raises:
        ValueError: explicit ``lengths`` that do not fit ``ref``.
    """
    B, T = ref.shape[:2]
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=ref.device).long()
        if lengths.shape != (B,):
            raise ValueError(
                f"lengths: expected shape ({B},) for a batch of {B}, "
                f"got {tuple(lengths.shape)}"
            )
        if bool((lengths < 1).any()) or bool((lengths > T).any()):
            raise ValueError(
                f"lengths: values must lie in [1, {T}] (signal length), "
                f"got {lengths.tolist()}"
            )
        return lengths
    ctx = current_lengths()
    if ctx is not None and ctx.dim() == 1 and ctx.numel() == B:
        ctx = ctx.to(ref.device).long()
        if bool((ctx >= 1).all()) and bool((ctx <= T).all()):
            return ctx
    return lengths_from_padding(ref)
