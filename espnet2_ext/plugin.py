"""The one place that registers espnet2_ext into ESPnet.

:func:`register` adds, idempotently:

* enhancement criterions ``ssl_mse``, ``ssl_mse_pad``, ``ssl_sdtw`` to
  ``espnet2.tasks.enh.criterion_choices``;
* the loss wrapper ``gpit`` to ``espnet2.tasks.enh.loss_wrapper_choices``;
* the ASR frontend ``ssl_weighted_sum`` to ``espnet2.tasks.asr.frontend_choices``
  (also used by ``enh_s2t``);
* thin wrappers around ``ESPnetEnhancementModel.forward``/``forward_loss``
  (:mod:`espnet2_ext.enh.model_hooks`): utterance lengths for length-aware
  criterions under any wrapper, the model's train/eval mode for the loss
  wrappers, and a report naming the utterances of a non-finite loss.

``import espnet2_ext`` calls :func:`register_on_espnet_import`: it registers
at once when ESPnet's enh/asr task modules are already loaded, and otherwise
as soon as the first of them is imported (an import hook), so importing the
package, its kernels or its launcher does not load ESPnet.

Worker processes that ESPnet spawns for DDP (``--ngpu > 1``) unpickle the
task class of :mod:`espnet2_ext.tasks`, whose import runs this registration
again in the worker.

The same import hook keeps ESPnet's start offline: ESPnet's text tools
import ``g2p_en``, whose module body calls ``nltk.download()`` for two
resources (``averaged_perceptron_tagger_eng``, ``cmudict``) when they are not
installed, so every ESPnet start on a machine without them tries the
network and prints ``[nltk_data] Error loading ...`` lines.  When ``g2p_en``
is imported after ``espnet2_ext`` (every ``python -m espnet2_ext.bin.*``
tool), its module body runs with ``nltk.download`` replaced by a stand-in
that only logs (debug level) what is missing.  Nothing else changes: a
config that really uses the ``g2p_en`` tokenizer gets nltk's own "Resource
... not found" error with the command to install it
(``python -m nltk.downloader cmudict averaged_perceptron_tagger_eng``); once
installed, no download is attempted at all.
"""

import contextlib
import importlib.abc
import importlib.machinery
import logging
import sys
from typing import Dict, Type

logger = logging.getLogger(__name__)

_DONE = False
_BUSY = False


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
    """Register everything into ESPnet now (idempotent; imports ESPnet)."""
    global _DONE, _BUSY
    if _DONE or _BUSY:
        return
    _BUSY = True
    try:
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
    finally:
        _BUSY = False


# ESPnet modules whose registries we fill: registering when the first of them
# is imported keeps `import espnet2_ext` (and the kernels, the launcher) cheap
# while every ESPnet task that can see our names does.
_TRIGGERS = ("espnet2.tasks.enh", "espnet2.tasks.asr")


# third-party modules whose import-time download attempts are silenced (see the module doc)
_NO_DOWNLOAD_ON_IMPORT = ("g2p_en",)


@contextlib.contextmanager
def _nltk_download_disabled():
    """``nltk.download`` replaced by a stand-in that logs instead of using the network."""
    import nltk

    real = nltk.download

    def no_download(info_or_id=None, *args, **kwargs):
        logger.debug(
            "espnet2_ext: not downloading nltk resource %r at import time "
            "(install it with: python -m nltk.downloader %s)", info_or_id, info_or_id)
        return False

    nltk.download = no_download
    try:
        yield
    finally:
        nltk.download = real


class _WrappedLoader(importlib.abc.Loader):
    """Runs the real loader of a module, with something before/around it."""

    def __init__(self, loader, around=None, after=None):
        self._loader = loader
        self._around = around
        self._after = after

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with self._around() if self._around is not None else contextlib.nullcontext():
            self._loader.exec_module(module)
        if self._after is not None:
            self._after()


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name in _TRIGGERS and not _DONE:
            wrap = {"after": register}
        elif name in _NO_DOWNLOAD_ON_IMPORT:
            wrap = {"around": _nltk_download_disabled}
        else:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _WrappedLoader(spec.loader, **wrap)
        return spec


def register_on_espnet_import() -> None:
    """Register now if ESPnet's tasks are loaded, else as soon as they are.

    Called by ``import espnet2_ext``.  After it, any use of
    ``espnet2.tasks.enh``/``espnet2.tasks.asr`` (which import each other's
    registries' users: enh_s2t, enh_tse, the bin tools) sees our names, and a
    later import of ``g2p_en`` tries no download (see the module doc).
    """
    if any(name in sys.modules for name in _TRIGGERS):
        register()
    if not any(isinstance(f, _RegisterOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterOnImport())
