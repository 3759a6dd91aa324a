"""Where an upstream's weights come from: a small registry of loaders, one module each.

==============  ===========================================  =====================
kind            names                                        module
==============  ===========================================  =====================
``bundle``      ``hubert_base``, ``wavlm_large``, ...        :mod:`.bundle`
``whisper``     ``whisper_tiny_en``, ``whisper_base``        :mod:`.whisper`
``checkpoint``  ``checkpoint:PATH``                          :mod:`.checkpoint`
``tiny``        ``tiny``                                     :mod:`.tiny`
``module``      a torchaudio ``Wav2Vec2Model`` instance      :mod:`.module`
==============  ===========================================  =====================

Each loader returns ``(model, info)``: the ``nn.Module`` holding the weights
and a dict with ``source`` (the name), ``backend`` (the encoder family that
computes its hidden states, see :mod:`espnet2_ext.ssl.backends`),
``model_type``, ``params`` (architecture arguments, for ``save_checkpoint``)
and ``normalize_waveform``.
"""

from typing import Any, Dict, FrozenSet, Optional, Tuple, Union

from torch import nn

from espnet2_ext.ssl import presets
from espnet2_ext.ssl.sources import bundle, checkpoint, module, tiny, whisper

_LOADERS = {"bundle": bundle, "whisper": whisper, "checkpoint": checkpoint, "tiny": tiny, "module": module}

#: accepted source options (``upstream_conf`` keys) per kind
SOURCE_OPTIONS: Dict[str, FrozenSet[str]] = {kind: mod.OPTIONS for kind, mod in _LOADERS.items()}


def classify_source(name: Union[str, nn.Module]) -> str:
    """Kind of an upstream ``name`` (pure, loads nothing): ``bundle``, ``whisper``, ``checkpoint``, ``tiny``, ``module``.

    Raises ``ValueError`` (unknown name) or ``TypeError`` (neither a str nor a module).
    """
    if isinstance(name, nn.Module):
        return "module"
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (or a torchaudio Wav2Vec2Model), got {type(name).__name__}")
    if name in presets.BUNDLES:
        return "bundle"
    if name in presets.WHISPER:
        return "whisper"
    if name.startswith(presets.CHECKPOINT_PREFIX):
        return "checkpoint"
    if name == presets.TINY:
        return "tiny"
    raise ValueError(
        f"Unknown SSL upstream {name!r}; expected one of "
        f"{list(presets.BUNDLES) + list(presets.WHISPER) + [presets.TINY]} or '{presets.CHECKPOINT_PREFIX}/path/to/file'"
    )


def known_num_layers(name: str, conf: Optional[Dict[str, Any]] = None) -> Optional[int]:
    """Number of transformer layers of an upstream without loading it; None when only the file knows."""
    kind = classify_source(name)
    conf = conf or {}
    if kind == "bundle":
        return int(presets.arch_spec(name)[1]["encoder_num_layers"])
    if kind == "whisper":
        return presets.WHISPER[name].encoder_layers
    if kind == "tiny":
        arch = conf.get("arch_conf") or {}
        return int(arch.get("encoder_num_layers", presets.TINY_PARAMS["encoder_num_layers"]))
    return None


def load_source(name: Union[str, nn.Module], conf: Dict[str, Any]) -> Tuple[nn.Module, Dict[str, Any]]:
    """Load the weights of an upstream: ``(model, info)`` (see the module doc)."""
    kind = classify_source(name)
    unknown = set(conf) - SOURCE_OPTIONS[kind]
    if unknown:
        label = "module" if kind == "module" else name
        raise ValueError(
            f"Unexpected options {sorted(unknown)} for SSL upstream {label!r}; "
            f"accepted: {sorted(SOURCE_OPTIONS[kind])}"
        )
    return _LOADERS[kind].load(name, **conf)


__all__ = ["SOURCE_OPTIONS", "classify_source", "known_num_layers", "load_source"]
