"""What espnet2_ext adds around ``ESPnetEnhancementModel`` (installed by the plugin).

``forward`` runs inside a context holding the batch's utterance ids (ESPnet's
trainer passes them as ``utt_id``); ``forward_loss``

* gives the loss wrappers (a plain list in ESPnet, outside the module tree)
  the model's train/eval mode, so training-only perturbations stop in
  validation;
* runs inside the length context of :mod:`espnet2_ext.enh.lengths`, so
  length-aware criterions receive each utterance's true length under any
  wrapper;
* reports a non-finite loss with the utterance ids of the batch and the
  criterions that produced it.  ESPnet's trainer then skips the update of
  that batch (its gradient norm is not finite), so one bad batch never
  poisons the model; the report says which utterances to look at.
"""

import contextlib
import functools
import inspect
import logging
from contextvars import ContextVar
from typing import Optional, Sequence

import torch

from espnet2_ext.enh.lengths import utterance_lengths

_UTT_IDS: ContextVar[Optional[Sequence[str]]] = ContextVar(
    "espnet2_ext_utt_ids", default=None
)
_MARK = "_espnet2_ext_hook"


def current_utt_ids() -> Optional[Sequence[str]]:
    """Utterance ids of the batch being forwarded, when ESPnet gave them."""
    return _UTT_IDS.get()


@contextlib.contextmanager
def _utt_ids(ids):
    token = _UTT_IDS.set(ids)
    try:
        yield
    finally:
        _UTT_IDS.reset(token)


def report_non_finite(loss: torch.Tensor, stats: dict, training: bool) -> None:
    """Log a non-finite loss with the batch's utterance ids and culprits."""
    if bool(torch.isfinite(loss.detach()).all()):
        return
    culprits = sorted(
        k
        for k, v in stats.items()
        if isinstance(v, torch.Tensor) and not bool(torch.isfinite(v).all())
        and k != "loss"
    )
    ids = current_utt_ids()
    logging.warning(
        "espnet2_ext: non-finite loss %s in %s (criterions: %s) for utterances %s; "
        "%s",
        loss.detach().flatten()[:1].tolist(),
        "training" if training else "validation",
        ", ".join(culprits) or "unknown",
        list(ids) if ids is not None else "unknown",
        "ESPnet's trainer skips the update of this batch"
        if training
        else "the validation statistics of this epoch include it",
    )


def install(model_cls) -> None:
    """Wrap ``model_cls.forward`` and ``forward_loss`` (idempotent)."""
    forward = model_cls.forward
    if not getattr(forward, _MARK, False):

        @functools.wraps(forward)
        def hooked_forward(self, *args, **kwargs):
            with _utt_ids(kwargs.get("utt_id")):
                return forward(self, *args, **kwargs)

        setattr(hooked_forward, _MARK, True)
        model_cls.forward = hooked_forward

    forward_loss = model_cls.forward_loss
    if not getattr(forward_loss, _MARK, False):
        signature = inspect.signature(forward_loss)

        @functools.wraps(forward_loss)
        def hooked_forward_loss(self, *args, **kwargs):
            for wrapper in self.loss_wrappers or []:
                if wrapper.training != self.training:
                    wrapper.train(self.training)
            bound = signature.bind(self, *args, **kwargs).arguments
            refs = [
                r
                for key in ("speech_ref", "noise_ref", "dereverb_speech_ref")
                for r in (bound.get(key) or [])
            ]
            with utterance_lengths(bound.get("speech_lengths"), refs):
                out = forward_loss(self, *args, **kwargs)
            report_non_finite(out[0], out[1], self.training)
            return out

        setattr(hooked_forward_loss, _MARK, True)
        model_cls.forward_loss = hooked_forward_loss
