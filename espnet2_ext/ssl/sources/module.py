"""Source: a torchaudio ``Wav2Vec2Model`` instance passed in directly (tests, custom models)."""

from typing import Any, Dict, Optional, Tuple

from torch import nn

from espnet2_ext.ssl._torchaudio import unwrap_pipeline_model
from espnet2_ext.ssl.sources.arch import infer_params

#: options of this source
OPTIONS = frozenset({"normalize_waveform"})


def load(model: nn.Module, normalize_waveform: Optional[bool] = None) -> Tuple[nn.Module, Dict[str, Any]]:
    model, wrapped_norm = unwrap_pipeline_model(model)
    if type(model).__name__ != "Wav2Vec2Model":
        raise TypeError(f"Expected a torchaudio Wav2Vec2Model, got {type(model).__name__}")
    model_type, params = infer_params(model)
    normalize = wrapped_norm if normalize_waveform is None else normalize_waveform
    return model, {"source": "module", "backend": "wav2vec2", "model_type": model_type, "params": params,
                   "normalize_waveform": bool(normalize)}
