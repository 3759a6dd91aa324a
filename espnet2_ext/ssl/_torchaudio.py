"""Every use of torchaudio's private API by :mod:`espnet2_ext.ssl`, in one place.

torchaudio has no public way to (a) read a pipeline bundle's builder
arguments and waveform-normalisation flag without building the model, (b)
fetch a bundle's state dict without building the model first (we fetch first
so that an offline machine fails fast, before a large model is allocated),
(c) know a bundle's download URL, (d) run the transformer's input stage
(positional convolution + layer norm) on its own, or (e) unwrap the
``_Wav2Vec2Model`` wrapper that ``get_model()`` returns for the Large models.
Everything else in the package uses public torchaudio API
(``torchaudio.models.wav2vec2_model``/``wavlm_model``, the importers).
If a torchaudio upgrade breaks one of these, this file is the one to fix.
"""

from typing import Any, Dict, Optional, Tuple

from torch import Tensor, nn


def bundle_arch(bundle) -> Tuple[str, Dict[str, Any], bool]:
    """``(model_type, builder_params, normalize_waveform)`` of a ``torchaudio.pipelines`` bundle."""
    return bundle._model_type, dict(bundle._params), bool(bundle._normalize_waveform)


def bundle_state_dict(bundle, dl_kwargs: Optional[Dict[str, Any]]) -> Dict[str, Tensor]:
    """Download (or read from the torch.hub cache) a bundle's weights, without building the model."""
    return bundle._get_state_dict(dl_kwargs)


def bundle_url_path(bundle) -> str:
    """The bundle's file path on torchaudio's download server (its basename is the cache file name)."""
    return bundle._path


def transformer_input(transformer: nn.Module, x: Tensor) -> Tensor:
    """torchaudio ``Transformer``'s input stage: positional conv embedding (+ layer norm of post-LN models)."""
    return transformer._preprocess(x)


def unwrap_pipeline_model(model: nn.Module) -> Tuple[nn.Module, Optional[bool]]:
    """Strip torchaudio's pipeline wrapper: ``(Wav2Vec2Model, normalize_waveform or None)``."""
    if type(model).__name__ == "_Wav2Vec2Model" and hasattr(model, "model"):
        return model.model, bool(model.normalize_waveform)
    return model, None
