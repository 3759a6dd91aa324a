"""Frozen speech encoders as feature extractors: the generic :class:`SSLUpstream`.

``SSLUpstream(name)`` loads weights through a *source* (:mod:`.sources`:
torchaudio bundles, ``checkpoint:PATH``, ``tiny``, the Whisper encoders
that ship in pip packages, or a model instance) and computes hidden states
through the *backend* of that model family (:mod:`.backends`), which
guarantees:

* **padding invariance** -- an utterance's features do not depend on the
  lengths or content of its batch-mates;
* frames beyond each utterance's frame length are exactly zero;
* the model is frozen (eval mode, no parameter gradients) while gradients
  still flow back to the input waveform.

This class adds what is common to every backend: input checks, layer
selection (:func:`.layers.parse_layers`), layer averaging and L2
normalisation, freezing, frame lengths.  Hidden-state indexing: 0 is the
input of the first transformer block, ``i`` the output of block ``i``.

This module does not import ESPnet.
"""

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from torch import nn

from espnet2_ext.augment import check_batch
from espnet2_ext.ssl.backends import make_backend
from espnet2_ext.ssl.layers import LayerSpec, combine_layers, parse_layers
from espnet2_ext.ssl.presets import SSL_SAMPLE_RATE, TINY
from espnet2_ext.ssl.sources import load_source
from espnet2_ext.ssl.sources.checkpoint import checkpoint_object
from espnet2_ext.ssl.sources.tiny import build_tiny_model


class SSLUpstream(nn.Module):
    """Frozen speech encoder returning (selected) hidden states of a waveform batch.

    Args:
        name: ``"hubert_base"``, ``"hubert_large"``, ``"wavlm_base"``,
            ``"wavlm_base_plus"``, ``"wavlm_large"``, ``"wav2vec2_base"``,
            ``"wav2vec2_large"``, ``"wav2vec2_asr_base_960h"`` (torchaudio
            bundles, downloaded to the torch.hub cache), ``"whisper_tiny_en"``,
            ``"whisper_base"`` (Whisper encoders whose weights ship in pip
            packages: no network), ``"tiny"`` (small random HuBERT-like model,
            fixed seed), ``"checkpoint:PATH"`` (local file / Hugging Face
            directory), or a torchaudio ``Wav2Vec2Model`` instance.
        layers: ``"last"``, ``"all"`` (average of every hidden state), an int
            or a list of ints (averaged).  Index 0 is the input of the first
            transformer block (SUPERB's layer 0), ``i`` the output of block
            ``i``; negative ints count from the end (-1 == last).
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
            Module: ``normalize_waveform``.  Whisper: none.
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
        model, info = load_source(name, dict(source_conf))
        if getattr(model, "aux", None) is not None:
            model.aux = None  # ASR head: not used for features
        self.model = model
        self.backend = make_backend(model, info)
        self.name: str = info.get("source", str(name))
        self.backend_name: str = info["backend"]
        self.model_type: str = info["model_type"]
        self.arch_params: Dict[str, Any] = info["params"]
        self.normalize_waveform: bool = bool(info["normalize_waveform"])
        self.is_wavlm: bool = self.model_type == "WavLM"
        self.l2_normalize = bool(l2_normalize)
        self.freeze = bool(freeze)
        self.sample_rate: int = SSL_SAMPLE_RATE
        self.hop_length: int = self.backend.hop_length
        self.min_samples: int = self.backend.min_samples
        self.num_layers: int = self.backend.num_layers
        self.feature_dim: int = self.backend.feature_dim
        self.layers: List[int] = parse_layers(layers, self.num_layers)

        if self.freeze:
            for p in self.model.parameters():
                p.requires_grad_(False)
        self.train(self.training)

    # -- configuration ------------------------------------------------------

    def train(self, mode: bool = True):
        """A frozen upstream stays in eval mode whatever the parent asks."""
        super().train(False if self.freeze else mode)
        return self

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        """Number of output frames for each input length (B,) -> (B,) long (0 below ``min_samples``)."""
        return self.backend.frame_lengths(sample_lengths)

    # -- computation ----------------------------------------------------------

    def _check_input(self, wav: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        lengths = check_batch(wav, lengths)
        short = (lengths < self.min_samples).nonzero()
        if short.numel():
            b = int(short[0, 0])
            raise ValueError(
                f"Utterance {b} has {int(lengths[b])} samples; the SSL model needs at least "
                f"{self.min_samples} samples ({self.min_samples / self.sample_rate * 1000:.0f} ms) "
                "to produce one frame"
            )
        return lengths

    def _hidden_states(self, wav: torch.Tensor, lengths: Optional[torch.Tensor], upto: int):
        if self.freeze:  # guard against a parent's requires_grad_(True)
            for p in self.model.parameters():
                p.requires_grad_(False)
        lengths = self._check_input(wav, lengths)
        return self.backend.hidden_states(self.model, wav, lengths, upto)

    def extract_layers(
        self, wav: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """All hidden states: a list of ``num_layers + 1`` tensors (B, F, D), and frame lengths (B,).

        Index 0 is the input of the first transformer block (SUPERB's layer
        0), index ``i`` the output of block ``i``.  Frames beyond
        ``frame_lengths`` are 0.  No layer averaging or L2 normalisation.
        """
        hidden, flen, _ = self._hidden_states(wav, lengths, self.num_layers)
        return hidden, flen

    def forward(
        self,
        wav: torch.Tensor,
        lengths: Optional[torch.Tensor] = None,
        layers: Optional[LayerSpec] = None,
        l2_normalize: Optional[bool] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Selected features ``(B, F, D)`` and frame lengths ``(B,)``.

        ``layers`` / ``l2_normalize`` override the constructor's choice for
        this call (one shared encoder can serve several layer choices); only
        the blocks up to the deepest selected layer are run.
        """
        sel = self.layers if layers is None else parse_layers(layers, self.num_layers)
        l2 = self.l2_normalize if l2_normalize is None else bool(l2_normalize)
        hidden, flen, pad = self._hidden_states(wav, lengths, max(sel))
        return combine_layers(hidden, sel, l2, pad), flen

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, backend={self.backend_name!r}, layers={self.layers}, "
            f"l2_normalize={self.l2_normalize}, freeze={self.freeze}, num_layers={self.num_layers}, "
            f"feature_dim={self.feature_dim}"
        )


def build_upstream(name: Union[str, nn.Module] = TINY, **conf) -> SSLUpstream:
    """Build an :class:`SSLUpstream` from a config dict (``layers``, ``l2_normalize``, ... and source options)."""
    return SSLUpstream(name=name, **conf)


def save_checkpoint(upstream: SSLUpstream, path: str) -> None:
    """Write architecture + weights so that ``SSLUpstream("checkpoint:" + path)`` rebuilds it.

    Works for every backend (a Whisper encoder too).  The file loads with
    ``torch.load(..., weights_only=True)``.  Layer selection / L2 options are
    not stored (they are arguments of the upstream).
    """
    if not isinstance(upstream, SSLUpstream):
        raise TypeError(f"save_checkpoint expects an SSLUpstream, got {type(upstream).__name__}")
    params = dict(upstream.arch_params)
    conv = params.get("extractor_conv_layer_config")
    if conv is not None:
        params["extractor_conv_layer_config"] = [tuple(int(v) for v in c) for c in conv]
    obj = checkpoint_object(upstream.model_type, params, upstream.normalize_waveform, upstream.name,
                            upstream.model.state_dict())
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    torch.save(obj, path)


__all__ = ["SSLUpstream", "build_tiny_model", "build_upstream", "save_checkpoint"]
