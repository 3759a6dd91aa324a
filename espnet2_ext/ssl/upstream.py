"""Frozen self-supervised speech encoders (HuBERT / WavLM / wav2vec 2.0).

:class:`SSLUpstream` wraps a torchaudio ``Wav2Vec2Model`` (the class torchaudio
uses for wav2vec 2.0, HuBERT and WavLM) and computes its hidden states with
three guarantees the stock ``extract_features`` does not give:

* **padding invariance** -- an utterance's features do not depend on the
  lengths of its batch-mates.  The group-norm of the Base models' first
  convolution and the waveform normalisation of the Large models are
  computed over each utterance's valid samples only, and WavLM gets a key
  padding mask (torchaudio's WavLM layers refuse the attention mask);
* frames beyond each utterance's frame length are exactly zero;
* the model is frozen (eval mode, no parameter gradients) while gradients
  still flow back to the input waveform.

Hidden-state indexing (used by ``layers`` and :meth:`SSLUpstream.extract_layers`):
index 0 is the transformer input -- CNN features after the feature
projection and the convolutional positional embedding (plus the encoder
layer norm of post-LN models), i.e. SUPERB's "layer 0" -- and index ``i``
(1..``num_layers``) is the output of transformer layer ``i``.  The final
encoder layer norm of pre-LN (Large) models is not applied, as in
torchaudio's ``extract_features``.

This module does not import ESPnet.
"""

import logging
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from espnet2_ext.ssl import presets
from espnet2_ext.ssl.presets import (
    BUNDLES,
    CHECKPOINT_PREFIX,
    SSL_SAMPLE_RATE,
    TINY,
    TINY_PARAMS,
    TINY_SEED,
    UPSTREAM_NAMES,
)

logger = logging.getLogger(__name__)

_FORMAT_KEY = "espnet2_ext_ssl_checkpoint"
_FORMAT_VERSION = 1

LayerSpec = Union[str, int, Sequence[int]]


class SSLUpstreamError(RuntimeError):
    """Base class of the upstream loading errors."""


class SSLDownloadError(SSLUpstreamError):
    """Pretrained weights of a torchaudio bundle could not be downloaded."""


class SSLCheckpointError(SSLUpstreamError):
    """A ``checkpoint:`` source could not be read or understood."""


# ---------------------------------------------------------------------------
# model construction
# ---------------------------------------------------------------------------


def _build_model(model_type: str, params: Dict[str, Any]) -> nn.Module:
    from torchaudio.models import wav2vec2_model, wavlm_model

    builders = {"Wav2Vec2": wav2vec2_model, "WavLM": wavlm_model}
    if model_type not in builders:
        raise ValueError(f"Unknown model_type {model_type!r}; expected one of {sorted(builders)}")
    return builders[model_type](**params)


def build_tiny_model(seed: int = TINY_SEED, **overrides) -> Tuple[nn.Module, Dict[str, Any]]:
    """Build the ``tiny`` model with a fixed-seed initialisation.

    The global CPU RNG is forked (saved and restored), and only the CPU
    generator is re-seeded, so callers' random streams are unaffected.
    Returns ``(model, builder_params)``.
    """
    params = dict(TINY_PARAMS)
    unknown = set(overrides) - set(params)
    if unknown:
        raise ValueError(f"Unknown tiny-model parameters {sorted(unknown)}; known: {sorted(params)}")
    params.update(overrides)
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(int(seed))
        model = _build_model("Wav2Vec2", params)
    return model, params


def _infer_params(model: nn.Module) -> Tuple[str, Dict[str, Any]]:
    """Recover builder arguments from a torchaudio ``Wav2Vec2Model`` instance.

    Used for models that come from importers (fairseq / Hugging Face) or are
    passed in directly, so that :func:`save_checkpoint` can store them.
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


def _unwrap(model: nn.Module) -> Tuple[nn.Module, Optional[bool]]:
    """Strip torchaudio's pipeline wrapper; return (Wav2Vec2Model, normalize_waveform or None)."""
    if type(model).__name__ == "_Wav2Vec2Model" and hasattr(model, "model"):
        return model.model, bool(model.normalize_waveform)
    return model, None


def _clean_state_dict(sd: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    if sd and all(k.startswith("model.") for k in sd):  # saved from the pipeline wrapper
        sd = {k[len("model.") :]: v for k, v in sd.items()}
    return {k: v for k, v in sd.items() if not k.startswith("aux.")}


def _load_state(model: nn.Module, sd: Dict[str, Any], what: str) -> None:
    try:
        model.load_state_dict(_clean_state_dict(sd), strict=True)
    except RuntimeError as e:
        raise SSLCheckpointError(f"{what}: weights do not match the architecture: {e}") from None


def _load_bundle(name: str, dl_kwargs: Optional[Dict[str, Any]]) -> Tuple[nn.Module, Dict[str, Any]]:
    """Download (or read from the torch.hub cache, honouring TORCH_HOME) a bundle."""
    b = presets.bundle(name)
    model_type, params, normalize = presets.arch_spec(name)
    try:
        # fetch first: offline failures are reported before building a large model
        state_dict = b._get_state_dict(dl_kwargs)
    except Exception as e:  # urllib / socket / HTTP / hash errors all mean "no weights"
        raise SSLDownloadError(
            f"Could not download the pretrained weights of the SSL model {name!r} "
            f"(torchaudio.pipelines.{BUNDLES[name]}): {type(e).__name__}: {e}. "
            "If this machine is offline, either pre-populate the torch.hub cache "
            "(TORCH_HOME) on a connected machine, or use a local file with "
            f"name='{CHECKPOINT_PREFIX}/path/to/weights.pt' (plus arch='{name}' for a "
            "torchaudio state dict), or use name='tiny' (small random model, for tests "
            "and mini recipes only)."
        ) from None
    model = _build_model(model_type, params)
    _load_state(model, state_dict, f"bundle {name!r}")
    info = {"source": name, "model_type": model_type, "params": params, "normalize_waveform": normalize}
    return model, info


def _load_checkpoint(
    path: str,
    arch: Optional[str],
    arch_conf: Optional[Dict[str, Any]],
    normalize_waveform: Optional[bool],
) -> Tuple[nn.Module, Dict[str, Any]]:
    path = os.path.expanduser(path)
    if not path:
        raise SSLCheckpointError(f"Empty path in {CHECKPOINT_PREFIX!r} source")
    if not os.path.exists(path):
        raise SSLCheckpointError(f"SSL checkpoint not found: {path!r}")
    if os.path.isdir(path):
        model, info = _load_huggingface(path)
    else:
        model, info = _load_file(path, arch, arch_conf)
    if normalize_waveform is not None:
        info["normalize_waveform"] = bool(normalize_waveform)
    info["source"] = CHECKPOINT_PREFIX + path
    return model, info


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

    if obj.get(_FORMAT_KEY) is not None:  # (b) our own format
        if arch_conf:
            raise ValueError("arch_conf cannot be used with a save_checkpoint() file (it stores its own architecture)")
        model = _build_model(obj["model_type"], obj["params"])
        _load_state(model, obj["state_dict"], f"checkpoint {path!r}")
        info = {
            "model_type": obj["model_type"],
            "params": obj["params"],
            "normalize_waveform": bool(obj["normalize_waveform"]),
        }
        return model, info

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
            f"SSL checkpoint {path!r} is a plain state dict: pass arch=<one of {sorted(BUNDLES)}> "
            "to say which torchaudio architecture it belongs to"
        )
    if arch not in BUNDLES:
        raise ValueError(f"Unknown arch {arch!r}; expected one of {sorted(BUNDLES)}")
    model_type, params, normalize = presets.arch_spec(arch)
    if arch_conf:
        unknown = set(arch_conf) - set(params)
        if unknown:
            raise ValueError(f"Unknown arch_conf keys {sorted(unknown)} for arch {arch!r}; known: {sorted(params)}")
        params.update(arch_conf)
    model = _build_model(model_type, params)
    _load_state(model, sd, f"checkpoint {path!r} (arch={arch!r})")
    return model, {"model_type": model_type, "params": params, "normalize_waveform": normalize}


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
    model_type, params = _infer_params(model)
    normalize = bool(getattr(getattr(original, "cfg", None), "normalize", False))
    return model, {"model_type": model_type, "params": params, "normalize_waveform": normalize}


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
    model_type, params = _infer_params(model)
    normalize = bool(getattr(config, "do_stable_layer_norm", False) and getattr(config, "feat_extract_norm", "") == "layer")
    return model, {"model_type": model_type, "params": params, "normalize_waveform": normalize}


_SOURCE_KEYS = {
    "bundle": {"dl_kwargs"},
    "checkpoint": {"arch", "arch_conf", "normalize_waveform"},
    "tiny": {"seed", "arch_conf"},
    "module": {"normalize_waveform"},
}


def _load_source(name: Union[str, nn.Module], conf: Dict[str, Any]) -> Tuple[nn.Module, Dict[str, Any]]:
    if isinstance(name, nn.Module):
        kind = "module"
    elif not isinstance(name, str):
        raise TypeError(f"name must be a str (or a torchaudio Wav2Vec2Model), got {type(name).__name__}")
    elif name in BUNDLES:
        kind = "bundle"
    elif name.startswith(CHECKPOINT_PREFIX):
        kind = "checkpoint"
    elif name == TINY:
        kind = "tiny"
    else:
        raise ValueError(
            f"Unknown SSL upstream {name!r}; expected one of {list(BUNDLES) + [TINY]} "
            f"or '{CHECKPOINT_PREFIX}/path/to/file'"
        )
    unknown = set(conf) - _SOURCE_KEYS[kind]
    if unknown:
        raise ValueError(
            f"Unexpected options {sorted(unknown)} for SSL upstream {name if kind != 'module' else 'module'!r}; "
            f"accepted: {sorted(_SOURCE_KEYS[kind])}"
        )
    if kind == "bundle":
        return _load_bundle(name, conf.get("dl_kwargs"))
    if kind == "checkpoint":
        return _load_checkpoint(
            name[len(CHECKPOINT_PREFIX) :], conf.get("arch"), conf.get("arch_conf"), conf.get("normalize_waveform")
        )
    if kind == "tiny":
        model, params = build_tiny_model(conf.get("seed", TINY_SEED), **(conf.get("arch_conf") or {}))
        return model, {"source": TINY, "model_type": "Wav2Vec2", "params": params, "normalize_waveform": False}
    model, wrapped_norm = _unwrap(name)
    if type(model).__name__ != "Wav2Vec2Model":
        raise TypeError(f"Expected a torchaudio Wav2Vec2Model, got {type(model).__name__}")
    model_type, params = _infer_params(model)
    normalize = conf.get("normalize_waveform", wrapped_norm)
    return model, {"source": "module", "model_type": model_type, "params": params, "normalize_waveform": bool(normalize)}


# ---------------------------------------------------------------------------
# the upstream
# ---------------------------------------------------------------------------


class SSLUpstream(nn.Module):
    """Frozen SSL encoder returning (selected) hidden states of a waveform batch.

    Args:
        name: ``"hubert_base"``, ``"hubert_large"``, ``"wavlm_base"``,
            ``"wavlm_base_plus"``, ``"wavlm_large"``, ``"wav2vec2_base"``,
            ``"wav2vec2_large"``, ``"wav2vec2_asr_base_960h"`` (torchaudio
            bundles, downloaded to the torch.hub cache), ``"tiny"`` (small
            random HuBERT-like model, fixed seed), ``"checkpoint:PATH"`` (local
            file / Hugging Face directory), or a torchaudio ``Wav2Vec2Model``
            instance.
        layers: ``"last"``, ``"all"`` (average of every hidden state), an int
            or a list of ints (averaged).  Index 0 is the transformer input
            (SUPERB's layer 0), ``i`` the output of transformer layer ``i``;
            negative ints count from the end (-1 == last).
        l2_normalize: L2-normalise every output frame (after layer averaging).
        sample_rate: sampling rate of the input; must equal the model's
            (16000).  No resampling is done here: resample before calling.
        freeze: keep the encoder frozen (default).  ``freeze=False`` lets the
            encoder train (used by the frontend's ``freeze_upstream=False``).
        **source_conf: source options.  Bundles: ``dl_kwargs`` (passed to
            ``torch.hub.load_state_dict_from_url``).  ``checkpoint:``: ``arch``
            (bundle name of a plain torchaudio state dict), ``arch_conf``
            (overrides of the builder arguments), ``normalize_waveform``.
            ``tiny``: ``seed``, ``arch_conf`` (overrides of ``TINY_PARAMS``).
            Module: ``normalize_waveform``.
    """

    def __init__(
        self,
        name: Union[str, nn.Module] = TINY,
        layers: LayerSpec = "last",
        l2_normalize: bool = False,
        sample_rate: int = SSL_SAMPLE_RATE,
        freeze: bool = True,
        **source_conf,
    ):
        super().__init__()
        if int(sample_rate) != SSL_SAMPLE_RATE or float(sample_rate) != float(int(sample_rate)):
            raise ValueError(
                f"SSL upstream expects {SSL_SAMPLE_RATE} Hz audio but sample_rate={sample_rate} was given; "
                "resample the waveform to 16 kHz before the SSL loss/frontend "
                "(e.g. torchaudio.functional.resample)"
            )
        model, info = _load_source(name, dict(source_conf))
        if getattr(model, "aux", None) is not None:
            model.aux = None  # ASR head: not used for features
        self.model = model
        self.name = info.get("source", str(name))
        self.model_type: str = info["model_type"]
        self.arch_params: Dict[str, Any] = info["params"]
        self.normalize_waveform: bool = bool(info["normalize_waveform"])
        self.l2_normalize = bool(l2_normalize)
        self.freeze = bool(freeze)

        conv = [(b.conv.kernel_size[0], b.conv.stride[0]) for b in model.feature_extractor.conv_layers]
        self._conv_ks: List[Tuple[int, int]] = conv
        self.sample_rate: int = SSL_SAMPLE_RATE
        hop, rf = 1, 1
        for k, s in conv:
            rf += (k - 1) * hop
            hop *= s
        self.hop_length: int = hop
        self.min_samples: int = rf
        self.num_layers: int = len(model.encoder.transformer.layers)
        self.feature_dim: int = model.encoder.feature_projection.projection.out_features
        self.is_wavlm: bool = self.model_type == "WavLM"
        self.layers: List[int] = self._parse_layers(layers)

        if self.freeze:
            for p in self.model.parameters():
                p.requires_grad_(False)
        self.train(self.training)

    # -- configuration ------------------------------------------------------

    def _parse_layers(self, layers: LayerSpec) -> List[int]:
        n = self.num_layers + 1  # hidden states incl. layer 0
        if isinstance(layers, str):
            if layers == "last":
                return [self.num_layers]
            if layers == "all":
                return list(range(n))
            raise ValueError(f"layers must be 'last', 'all', an int or a list of ints; got {layers!r}")
        items = [layers] if isinstance(layers, int) else list(layers)
        if not items:
            raise ValueError("layers must not be empty")
        out = []
        for i in items:
            if isinstance(i, bool) or not isinstance(i, int):
                raise ValueError(f"layer indices must be ints, got {i!r}")
            if not -n <= i < n:
                raise ValueError(
                    f"layer index {i} out of range for a model with {self.num_layers} transformer layers "
                    f"(valid: 0..{self.num_layers}, 0 = transformer input, or negative)"
                )
            out.append(i % n)
        return out

    def train(self, mode: bool = True):
        """A frozen upstream stays in eval mode whatever the parent asks."""
        super().train(False if self.freeze else mode)
        return self

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        """Number of output frames for each input length (the conv stack's arithmetic)."""
        n = torch.as_tensor(sample_lengths).long()
        for k, s in self._conv_ks:
            n = torch.clamp(torch.div(n - k, s, rounding_mode="floor") + 1, min=0)
        return n

    # -- computation ----------------------------------------------------------

    def _check_input(self, wav: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        if not isinstance(wav, torch.Tensor) or wav.dim() != 2:
            shape = tuple(wav.shape) if isinstance(wav, torch.Tensor) else type(wav).__name__
            raise ValueError(f"wav must be a (batch, samples) tensor, got {shape}")
        B, T = wav.shape
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long, device=wav.device)
        else:
            lengths = torch.as_tensor(lengths, device=wav.device)
            if lengths.dim() != 1 or lengths.shape[0] != B:
                raise ValueError(f"lengths must have shape ({B},), got {tuple(lengths.shape)}")
            if lengths.is_floating_point():
                raise ValueError("lengths must be integer sample counts")
            lengths = lengths.long()
        too_long = (lengths > T).nonzero()
        if too_long.numel():
            b = int(too_long[0, 0])
            raise ValueError(f"lengths[{b}]={int(lengths[b])} exceeds the waveform length {T}")
        short = (lengths < self.min_samples).nonzero()
        if short.numel():
            b = int(short[0, 0])
            raise ValueError(
                f"Utterance {b} has {int(lengths[b])} samples; the SSL model needs at least "
                f"{self.min_samples} samples ({self.min_samples / self.sample_rate * 1000:.0f} ms) "
                "to produce one frame"
            )
        return lengths

    def _cnn(self, wav: torch.Tensor, lengths: torch.Tensor, padded: bool):
        x = wav.unsqueeze(1)
        n = lengths
        for block in self.model.feature_extractor.conv_layers:
            x = block.conv(x)
            k, s = block.conv.kernel_size[0], block.conv.stride[0]
            n = torch.clamp(torch.div(n - k, s, rounding_mode="floor") + 1, min=0)
            norm = block.layer_norm
            if norm is not None:
                if isinstance(norm, nn.GroupNorm) and padded:
                    x = _masked_group_norm(x, n, norm)
                else:  # per-frame LayerNorm (or unpadded batch): nothing crosses utterances
                    x = norm(x)
            x = F.gelu(x)
        return x.transpose(1, 2), n

    def _hidden_states(self, wav: torch.Tensor, lengths: Optional[torch.Tensor], upto: int):
        if self.freeze:  # guard against a parent's requires_grad_(True)
            for p in self.model.parameters():
                p.requires_grad_(False)
        lengths = self._check_input(wav, lengths)
        dtype = self.model.encoder.feature_projection.projection.weight.dtype
        wav = wav.to(dtype)
        B, T = wav.shape
        padded = bool((lengths < T).any())
        if padded:
            smask = torch.arange(T, device=wav.device)[None, :] < lengths[:, None]
            wav = wav.masked_fill(~smask, 0.0)
        if self.normalize_waveform:
            wav = _masked_standardize(wav, lengths, smask if padded else None)

        x, flen = self._cnn(wav, lengths, padded)
        Fr = x.shape[1]
        pad = torch.arange(Fr, device=x.device)[None, :] >= flen[:, None]  # (B, F) True = padding
        fpadded = bool(pad.any())

        enc = self.model.encoder
        x = enc.feature_projection(x)
        if fpadded:
            x = x.masked_fill(pad[..., None], 0.0)
        tr = enc.transformer
        x = tr._preprocess(x)
        hidden = [x]
        kwargs: Dict[str, Any] = {}
        if fpadded:
            if self.is_wavlm:  # WavLM attention takes a (float, additive) key padding mask only
                kwargs["key_padding_mask"] = torch.zeros(B, Fr, dtype=x.dtype, device=x.device).masked_fill(
                    pad, float("-inf")
                )
            else:  # boolean "may attend" mask, shape (B, 1, F, F)
                kwargs["attention_mask"] = (~pad)[:, None, None, :].expand(B, 1, Fr, Fr)
        position_bias = None
        for layer in tr.layers[:upto]:
            x, position_bias = layer(x, position_bias=position_bias, **kwargs)
            hidden.append(x)
        if fpadded:
            hidden = [h.masked_fill(pad[..., None], 0.0) for h in hidden]
        return hidden, flen, pad if fpadded else None

    def extract_layers(
        self, wav: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """All hidden states: a list of ``num_layers + 1`` tensors (B, F, D).

        Index 0 is the transformer input (SUPERB's layer 0), index ``i`` the
        output of transformer layer ``i``.  Frames beyond ``frame_lengths``
        are 0.  No layer averaging or L2 normalisation is applied.
        """
        hidden, flen, _ = self._hidden_states(wav, lengths, self.num_layers)
        return hidden, flen

    def forward(
        self, wav: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Selected features ``(B, F, D)`` and frame lengths ``(B,)``."""
        hidden, flen, pad = self._hidden_states(wav, lengths, max(self.layers))
        if len(self.layers) == 1:
            feats = hidden[self.layers[0]]
        else:
            feats = torch.stack([hidden[i] for i in self.layers], dim=0).mean(dim=0)
        if self.l2_normalize:
            feats = F.normalize(feats, p=2.0, dim=-1)
            if pad is not None:
                feats = feats.masked_fill(pad[..., None], 0.0)
        return feats, flen

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, layers={self.layers}, l2_normalize={self.l2_normalize}, "
            f"freeze={self.freeze}, num_layers={self.num_layers}, feature_dim={self.feature_dim}"
        )


def _masked_group_norm(x: torch.Tensor, n: torch.Tensor, norm: nn.GroupNorm) -> torch.Tensor:
    """GroupNorm over (channels-in-group x valid frames) of each utterance.

    ``x`` is (B, C, T); frames ``>= n[b]`` are ignored for the statistics.
    With all frames valid this equals ``norm(x)``.
    """
    B, C, T = x.shape
    G = norm.num_groups
    valid = (torch.arange(T, device=x.device)[None, :] < n[:, None]).to(x.dtype)  # (B, T)
    xg = x.reshape(B, G, C // G, T)
    m = valid[:, None, None, :]
    count = (n.to(x.dtype) * (C // G)).clamp(min=1.0)[:, None, None, None]
    mean = (xg * m).sum(dim=(2, 3), keepdim=True) / count
    var = (((xg - mean) * m) ** 2).sum(dim=(2, 3), keepdim=True) / count
    y = ((xg - mean) * torch.rsqrt(var + norm.eps)).reshape(B, C, T)
    if norm.affine:
        y = y * norm.weight[None, :, None] + norm.bias[None, :, None]
    return y * valid[:, None, :]


def _masked_standardize(wav: torch.Tensor, lengths: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Per-utterance zero-mean/unit-variance over the valid samples (eps 1e-5, as layer_norm)."""
    if mask is None:
        return F.layer_norm(wav, wav.shape[-1:])
    m = mask.to(wav.dtype)
    count = lengths.to(wav.dtype)[:, None]
    mean = (wav * m).sum(-1, keepdim=True) / count
    var = (((wav - mean) * m) ** 2).sum(-1, keepdim=True) / count
    return (wav - mean) * torch.rsqrt(var + 1e-5) * m


def build_upstream(name: Union[str, nn.Module] = TINY, **conf) -> SSLUpstream:
    """Build an :class:`SSLUpstream` from a config dict (``layers``, ``l2_normalize``, ... and source options)."""
    return SSLUpstream(name=name, **conf)


def save_checkpoint(upstream: SSLUpstream, path: str) -> None:
    """Write architecture + weights so that ``SSLUpstream("checkpoint:" + path)`` rebuilds it.

    The file loads with ``torch.load(..., weights_only=True)``.  Layer
    selection / L2 options are not stored (they are arguments of the upstream).
    """
    if not isinstance(upstream, SSLUpstream):
        raise TypeError(f"save_checkpoint expects an SSLUpstream, got {type(upstream).__name__}")
    params = dict(upstream.arch_params)
    conv = params.get("extractor_conv_layer_config")
    if conv is not None:
        params["extractor_conv_layer_config"] = [tuple(int(v) for v in c) for c in conv]
    obj = {
        _FORMAT_KEY: _FORMAT_VERSION,
        "model_type": upstream.model_type,
        "params": params,
        "normalize_waveform": upstream.normalize_waveform,
        "source": upstream.name,
        "state_dict": {k: v.detach().cpu() for k, v in upstream.model.state_dict().items()},
    }
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    torch.save(obj, path)


__all__ = [
    "SSLUpstream",
    "SSLUpstreamError",
    "SSLDownloadError",
    "SSLCheckpointError",
    "UPSTREAM_NAMES",
    "build_upstream",
    "build_tiny_model",
    "save_checkpoint",
]
