"""Source ``checkpoint:PATH``: a local file or Hugging Face directory, for offline clusters.

Accepted: (a) a plain torchaudio state dict (with ``arch=<bundle name>``),
(b) a file written by :func:`espnet2_ext.ssl.save_checkpoint` (any backend),
(c) a fairseq checkpoint (needs ``fairseq``), (d) a Hugging Face model
directory (needs ``transformers``), the last two through torchaudio's importers.
"""

import os
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from espnet2_ext.ssl import presets
from espnet2_ext.ssl.errors import SSLCheckpointError
from espnet2_ext.ssl.sources.arch import build_model, infer_params, load_state

#: options of this source
OPTIONS = frozenset({"arch", "arch_conf", "normalize_waveform"})

#: marker key and version of files written by ``save_checkpoint``
FORMAT_KEY = "espnet2_ext_ssl_checkpoint"
FORMAT_VERSION = 1


def load(
    name: str,
    arch: Optional[str] = None,
    arch_conf: Optional[Dict[str, Any]] = None,
    normalize_waveform: Optional[bool] = None,
) -> Tuple[nn.Module, Dict[str, Any]]:
    path = os.path.expanduser(name[len(presets.CHECKPOINT_PREFIX) :])
    if not path:
        raise SSLCheckpointError(f"Empty path in {presets.CHECKPOINT_PREFIX!r} source")
    if not os.path.exists(path):
        raise SSLCheckpointError(f"SSL checkpoint not found: {path!r}")
    if os.path.isdir(path):
        model, info = _load_huggingface(path)
    else:
        model, info = _load_file(path, arch, arch_conf)
    if normalize_waveform is not None:
        info["normalize_waveform"] = bool(normalize_waveform)
    info["source"] = presets.CHECKPOINT_PREFIX + path
    return model, info


def _wav2vec2_info(model_type: str, params: Dict[str, Any], normalize: bool) -> Dict[str, Any]:
    return {"backend": "wav2vec2", "model_type": model_type, "params": params, "normalize_waveform": normalize}


def _load_own_format(path: str, obj: Dict[str, Any], arch_conf) -> Tuple[nn.Module, Dict[str, Any]]:
    if arch_conf:
        raise ValueError("arch_conf cannot be used with a save_checkpoint() file (it stores its own architecture)")
    model_type = obj["model_type"]
    if model_type == "WhisperEncoder":
        from espnet2_ext.ssl.sources.whisper import build_encoder_module

        model = build_encoder_module(obj["params"])
        try:
            model.load_state_dict(obj["state_dict"], strict=True)
        except RuntimeError as e:
            raise SSLCheckpointError(f"checkpoint {path!r}: weights do not match the architecture: {e}") from None
        return model, {"backend": "whisper", "model_type": model_type, "params": obj["params"],
                       "normalize_waveform": False}
    model = build_model(model_type, obj["params"])
    load_state(model, obj["state_dict"], f"checkpoint {path!r}")
    return model, _wav2vec2_info(model_type, obj["params"], bool(obj["normalize_waveform"]))


def _load_file(path: str, arch: Optional[str], arch_conf: Optional[Dict[str, Any]]):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - anything unreadable
        if "Unsupported global" in str(e) or "weights_only" in str(e):
            # pickled Python objects: the shape of a fairseq checkpoint
            return _load_fairseq(path, reason=f"{type(e).__name__}")
        raise SSLCheckpointError(f"Cannot read SSL checkpoint {path!r}: {type(e).__name__}: {e}") from None
    if not isinstance(obj, dict):
        raise SSLCheckpointError(f"SSL checkpoint {path!r} holds a {type(obj).__name__}, not a dict")

    if obj.get(FORMAT_KEY) is not None:  # (b) our own format
        return _load_own_format(path, obj, arch_conf)

    if "model" in obj and ("cfg" in obj or "args" in obj):  # fairseq
        return _load_fairseq(path, reason="fairseq-style keys")

    sd = obj
    for key in ("state_dict", "model"):
        if isinstance(sd.get(key), dict):
            sd = sd[key]
    if not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise SSLCheckpointError(f"SSL checkpoint {path!r} is neither a state dict nor a known checkpoint format")
    if arch is None:  # (a) plain torchaudio state dict
        raise SSLCheckpointError(
            f"SSL checkpoint {path!r} is a plain state dict: pass arch=<one of {sorted(presets.BUNDLES)}> "
            "to say which torchaudio architecture it belongs to"
        )
    if arch not in presets.BUNDLES:
        raise ValueError(f"Unknown arch {arch!r}; expected one of {sorted(presets.BUNDLES)}")
    model_type, params, normalize = presets.arch_spec(arch)
    if arch_conf:
        unknown = set(arch_conf) - set(params)
        if unknown:
            raise ValueError(f"Unknown arch_conf keys {sorted(unknown)} for arch {arch!r}; known: {sorted(params)}")
        params.update(arch_conf)
    model = build_model(model_type, params)
    load_state(model, sd, f"checkpoint {path!r} (arch={arch!r})")
    return model, _wav2vec2_info(model_type, params, normalize)


def _load_fairseq(path: str, reason: str):
    try:
        from fairseq import checkpoint_utils  # noqa: F401
    except ImportError:
        raise SSLCheckpointError(
            f"SSL checkpoint {path!r} looks like a fairseq checkpoint ({reason}); reading it needs the "
            "'fairseq' package, which is not installed. Install fairseq, or convert the model once "
            "with torchaudio.models.wav2vec2.utils.import_fairseq_model and save its state_dict() "
            "(then use arch=...)."
        ) from None
    from torchaudio.models.wav2vec2.utils import import_fairseq_model

    try:
        models, _, _ = checkpoint_utils.load_model_ensemble_and_task([path])
        original = models[0]
        if type(original).__name__ in ("Wav2VecCtc", "HubertCtc"):
            original = original.w2v_encoder
        model = import_fairseq_model(original)
    except Exception as e:  # noqa: BLE001
        raise SSLCheckpointError(f"Cannot import fairseq checkpoint {path!r}: {type(e).__name__}: {e}") from None
    model_type, params = infer_params(model)
    normalize = bool(getattr(getattr(original, "cfg", None), "normalize", False))
    return model, _wav2vec2_info(model_type, params, normalize)


def _load_huggingface(path: str):
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise SSLCheckpointError(f"SSL checkpoint directory {path!r} has no config.json (not a Hugging Face model)")
    try:
        import transformers
    except ImportError:
        raise SSLCheckpointError(
            f"SSL checkpoint {path!r} is a Hugging Face model directory; reading it needs the "
            "'transformers' package, which is not installed."
        ) from None
    from torchaudio.models.wav2vec2.utils import import_huggingface_model

    try:
        config = transformers.AutoConfig.from_pretrained(path)
        classes = {"wav2vec2": "Wav2Vec2Model", "hubert": "HubertModel", "wavlm": "WavLMModel"}
        if config.model_type not in classes:
            raise ValueError(f"unsupported model_type {config.model_type!r}; expected one of {sorted(classes)}")
        original = getattr(transformers, classes[config.model_type]).from_pretrained(path)
        model = import_huggingface_model(original.eval())
    except Exception as e:  # noqa: BLE001
        raise SSLCheckpointError(f"Cannot import Hugging Face model {path!r}: {type(e).__name__}: {e}") from None
    model_type, params = infer_params(model)
    normalize = bool(getattr(config, "do_stable_layer_norm", False) and getattr(config, "feat_extract_norm", "") == "layer")
    return model, _wav2vec2_info(model_type, params, normalize)


def checkpoint_object(model_type: str, params: Dict[str, Any], normalize_waveform: bool, source: str,
                      state_dict: Dict[str, torch.Tensor]) -> Dict[str, Any]:
    """The dict ``save_checkpoint`` writes (loads with ``torch.load(..., weights_only=True)``)."""
    return {
        FORMAT_KEY: FORMAT_VERSION,
        "model_type": model_type,
        "params": params,
        "normalize_waveform": bool(normalize_waveform),
        "source": source,
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
    }
