"""torchaudio ``Wav2Vec2Model`` architectures: build from builder arguments, recover them from a model.

Public torchaudio API only (``torchaudio.models.wav2vec2_model`` /
``wavlm_model`` and the modules' attributes).
"""

from typing import Any, Dict, Tuple

import torch
from torch import nn

from espnet2_ext.ssl.errors import SSLCheckpointError

#: ``model_type`` -> name of the ``torchaudio.models`` builder.
BUILDERS = {"Wav2Vec2": "wav2vec2_model", "WavLM": "wavlm_model"}


def build_model(model_type: str, params: Dict[str, Any]) -> nn.Module:
    """A randomly initialised ``Wav2Vec2Model`` of the given architecture."""
    import torchaudio.models

    if model_type not in BUILDERS:
        raise ValueError(f"Unknown model_type {model_type!r}; expected one of {sorted(BUILDERS)}")
    return getattr(torchaudio.models, BUILDERS[model_type])(**params)


def infer_params(model: nn.Module) -> Tuple[str, Dict[str, Any]]:
    """Recover ``(model_type, builder arguments)`` from a torchaudio ``Wav2Vec2Model`` instance.

    Used for models that come from importers (fairseq / Hugging Face) or are
    passed in directly, so that ``save_checkpoint`` can store them.
    Dropout rates are recorded as 0 (the upstream only runs in eval mode).
    """
    fe = model.feature_extractor.conv_layers
    conv = [(b.conv.out_channels, b.conv.kernel_size[0], b.conv.stride[0]) for b in fe]
    mode = "group_norm" if isinstance(fe[0].layer_norm, nn.GroupNorm) else "layer_norm"
    tr = model.encoder.transformer
    layer0 = tr.layers[0]
    attn = layer0.attention
    is_wavlm = type(attn).__name__ == "WavLMSelfAttention"
    params: Dict[str, Any] = {
        "extractor_mode": mode,
        "extractor_conv_layer_config": conv,
        "extractor_conv_bias": fe[0].conv.bias is not None,
        "encoder_embed_dim": model.encoder.feature_projection.projection.out_features,
        "encoder_projection_dropout": 0.0,
        "encoder_pos_conv_kernel": tr.pos_conv_embed.kernel_size,
        "encoder_pos_conv_groups": tr.pos_conv_embed.conv.groups,
        "encoder_num_layers": len(tr.layers),
        "encoder_num_heads": attn.num_heads,
        "encoder_attention_dropout": 0.0,
        "encoder_ff_interm_features": layer0.feed_forward.intermediate_dense.out_features,
        "encoder_ff_interm_dropout": 0.0,
        "encoder_dropout": 0.0,
        "encoder_layer_norm_first": bool(layer0.layer_norm_first),
        "encoder_layer_drop": 0.0,
        "aux_num_out": None,
    }
    if is_wavlm:
        params["encoder_num_buckets"] = attn.num_buckets
        params["encoder_max_distance"] = attn.max_distance
    return ("WavLM" if is_wavlm else "Wav2Vec2"), params


def clean_state_dict(sd: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    """Drop the pipeline wrapper's ``model.`` prefix and the ASR head (``aux.``)."""
    if sd and all(k.startswith("model.") for k in sd):  # saved from the pipeline wrapper
        sd = {k[len("model.") :]: v for k, v in sd.items()}
    return {k: v for k, v in sd.items() if not k.startswith("aux.")}


def load_state(model: nn.Module, sd: Dict[str, Any], what: str) -> None:
    """Strict ``load_state_dict`` whose failure names the source (``what``)."""
    try:
        model.load_state_dict(clean_state_dict(sd), strict=True)
    except RuntimeError as e:
        raise SSLCheckpointError(f"{what}: weights do not match the architecture: {e}") from None
