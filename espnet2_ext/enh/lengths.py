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
3. a sub-batch of the current call: ESPnet's ``pit`` with
   ``independent_perm: false`` (and a permutation from an earlier wrapper)
   calls the criterion once per utterance, with batch size 1.  Each row of
   such a reference is matched, sample for sample, against the references
   of the current call (which the context also holds) and takes the length
   of the utterance it is;
4. fallback: each utterance is taken to end at its last non-zero reference
   sample (trailing exact zeros are treated as padding).  This is exact for
   ESPnet's zero padding unless a clean reference itself ends in digital
   silence, in which case that silence is ignored by the loss.  When a
   context exists but does not fit, a warning says so (once per process).
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, List, Optional, Sequence, Tuple

import torch

_Context = Tuple[Optional[torch.Tensor], Tuple[torch.Tensor, ...]]
_CURRENT: ContextVar[_Context] = ContextVar(
    "espnet2_ext_utterance_lengths", default=(None, ())
)
_warned = False


@contextmanager
def utterance_lengths(
    lengths: Optional[torch.Tensor],
    signals: Sequence[Optional[torch.Tensor]] = (),
) -> Iterator[None]:
    """Make ``lengths`` (B,) the current batch's utterance lengths.

    ``signals`` are the batch's reference signals, (B, T) or (B, T, C) each
    (``None`` entries are ignored); they let a criterion called on a
    sub-batch of single utterances find which utterance it was given.
    """
    sigs = tuple(s for s in signals if isinstance(s, torch.Tensor) and s.dim() >= 2)
    token = _CURRENT.set((lengths, sigs))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_lengths() -> Optional[torch.Tensor]:
    """The lengths set by the innermost :func:`utterance_lengths`, or None."""
    return _CURRENT.get()[0]


def _match_rows(ref: torch.Tensor, ctx: torch.Tensor, signals: Tuple[torch.Tensor, ...]) -> Optional[torch.Tensor]:
    """Lengths of the rows of ``ref`` found among the context's reference signals."""
    if not signals or ref.dim() != 2:
        return None
    T = ref.size(1)
    candidates: List[torch.Tensor] = []  # (B_ctx, T) each
    for sig in signals:
        if sig.size(0) != ctx.numel() or sig.size(1) != T:
            continue
        if sig.dim() == 2:
            candidates.append(sig)
        else:
            candidates.extend(sig.flatten(2).unbind(-1))
    if not candidates:
        return None
    out = []
    for row in ref.detach():
        found = None
        for cand in candidates:
            hit = (cand.to(row.device) == row[None, :]).all(dim=1).nonzero()
            if hit.numel():
                found = int(hit[0, 0])
                break
        if found is None:
            return None
        out.append(ctx[found])
    return torch.stack(out).to(ref.device).long()


def _warn_once(B: int, ctx: torch.Tensor) -> None:
    global _warned
    if not _warned:
        _warned = True
        logging.warning(
            "espnet2_ext: a length-aware criterion was called on a batch of %d whose "
            "utterances are not among the current forward_loss batch of %d; its lengths "
            "are taken from the references' trailing zeros (lengths_from_padding). "
            "(warned once)",
            B,
            ctx.numel(),
        )


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
    ctx, signals = _CURRENT.get()
    if ctx is not None and ctx.dim() == 1:
        ctx = ctx.to(ref.device).long()
        if ctx.numel() == B:
            if bool((ctx >= 1).all()) and bool((ctx <= T).all()):
                return ctx
        else:
            matched = _match_rows(ref, ctx, signals)
            if matched is not None and bool((matched >= 1).all()) and bool((matched <= T).all()):
                return matched
        _warn_once(B, ctx)
    return lengths_from_padding(ref)
