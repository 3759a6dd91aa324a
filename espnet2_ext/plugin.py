"""The one place that registers espnet2_ext into ESPnet.

:func:`register` (called by ``import espnet2_ext``) adds, idempotently:

* enhancement criterions ``ssl_mse``, ``ssl_mse_pad``, ``ssl_sdtw`` to
  ``espnet2.tasks.enh.criterion_choices``;
* the loss wrapper ``gpit`` to ``espnet2.tasks.enh.loss_wrapper_choices``;
* the ASR frontend ``ssl_weighted_sum`` to ``espnet2.tasks.asr.frontend_choices``
  (also used by ``enh_s2t``);
* thin wrappers around ``ESPnetEnhancementModel.forward``/``forward_loss``
  (:mod:`espnet2_ext.enh.model_hooks`): utterance lengths for length-aware
  criterions under any wrapper, the model's train/eval mode for the loss
  wrappers, and a report naming the utterances of a non-finite loss.

Worker processes that ESPnet spawns for DDP (``--ngpu > 1``) unpickle the
task class of :mod:`espnet2_ext.tasks`, whose import runs this registration
again in the worker.
"""

from typing import Dict, Type

_DONE = False


def _entries():
    from espnet2_ext.enh.loss.criterions.ssl import (
        SSLMSELoss,
        SSLMSEPadLoss,
        SSLSoftDTWLoss,
    )
    from espnet2_ext.enh.loss.wrappers.gpit import GuidedPITSolver
    from espnet2_ext.ssl.frontend import SSLWeightedSumFrontend

    criterions = {
        "ssl_mse": SSLMSELoss,
        "ssl_mse_pad": SSLMSEPadLoss,
        "ssl_sdtw": SSLSoftDTWLoss,
    }
    wrappers = {"gpit": GuidedPITSolver}
    asr_frontends = {"ssl_weighted_sum": SSLWeightedSumFrontend}
    return criterions, wrappers, asr_frontends


def _add(choices, entries: Dict[str, Type]) -> None:
    for name, cls in entries.items():
        present = choices.classes.get(name)
        if present is not None and present is not cls:
            raise RuntimeError(
                f"espnet2_ext: cannot register {name!r} in ESPnet's "
                f"--{choices.name} choices: the name is already taken by "
                f"{present.__module__}.{present.__qualname__}"
            )
        if choices.base_type is not None and not issubclass(cls, choices.base_type):
            raise TypeError(f"{cls} is not a {choices.base_type}")
        choices.classes[name] = cls


def registered_names() -> Dict[str, tuple]:
    """Names this package adds, per ESPnet option (for docs and tests)."""
    criterions, wrappers, frontends = _entries()
    return {
        "criterions": tuple(criterions),
        "loss_wrappers": tuple(wrappers),
        "frontend": tuple(frontends),
    }


def register() -> None:
    """Register everything into ESPnet (idempotent)."""
    global _DONE
    if _DONE:
        return
    from espnet2.tasks import asr as asr_task
    from espnet2.tasks import enh as enh_task

    criterions, wrappers, asr_frontends = _entries()
    _add(enh_task.criterion_choices, criterions)
    _add(enh_task.loss_wrapper_choices, wrappers)
    _add(asr_task.frontend_choices, asr_frontends)
    from espnet2.enh.espnet_model import ESPnetEnhancementModel

    from espnet2_ext.enh import model_hooks

    model_hooks.install(ESPnetEnhancementModel)
    _DONE = True
