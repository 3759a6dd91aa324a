"""Encoder backends: padding-invariant hidden states of one model family each.

A backend is a small stateless object built from a loaded model (it reads
the geometry: hop, receptive field, depth, width) whose
:meth:`Backend.hidden_states` takes that model as an argument, so the
weights live in exactly one ``nn.Module`` (the upstream's ``model``).

=============  ==========================================  =====================
backend        models                                      module
=============  ==========================================  =====================
``wav2vec2``   torchaudio ``Wav2Vec2Model`` (wav2vec 2.0,   :mod:`.wav2vec2`
               HuBERT, WavLM)
``whisper``    openai-whisper ``AudioEncoder``             :mod:`.whisper`
=============  ==========================================  =====================

Contract of ``hidden_states(model, wav, lengths, upto)`` (``wav`` (B, T),
``lengths`` (B,) long, already checked: ``min_samples <= lengths <= T``):
returns ``(hidden, flen, pad)`` with ``hidden`` a list of ``upto + 1``
tensors (B, F, D) -- index 0 the input of the first transformer block, ``i``
the output of block ``i`` --, ``flen`` (B,) long equal to
``frame_lengths(lengths)``, ``pad`` (B, F) bool (True on padding frames) or
None when no frame is padding.  Padding frames are exactly 0; an
utterance's frames do not depend on its batch-mates (within float rounding).
"""

from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import nn


class Backend:
    """Interface of an encoder backend (see the module doc)."""

    #: samples per output frame
    hop_length: int
    #: fewest samples that give one frame
    min_samples: int
    #: transformer blocks (hidden states are ``num_layers + 1``)
    num_layers: int
    #: width of a hidden state
    feature_dim: int

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        """Frames produced for each input length (B,) -> (B,) long; 0 below ``min_samples``."""
        raise NotImplementedError

    def hidden_states(
        self, model: nn.Module, wav: torch.Tensor, lengths: torch.Tensor, upto: int
    ) -> Tuple[List[torch.Tensor], torch.Tensor, Optional[torch.Tensor]]:
        raise NotImplementedError


def make_backend(model: nn.Module, info: Dict[str, Any]) -> Backend:
    """The backend named by a source's ``info["backend"]``, for that model."""
    kind = info["backend"]
    if kind == "wav2vec2":
        from espnet2_ext.ssl.backends.wav2vec2 import Wav2Vec2Backend

        return Wav2Vec2Backend(model, model_type=info["model_type"], normalize_waveform=info["normalize_waveform"])
    if kind == "whisper":
        from espnet2_ext.ssl.backends.whisper import WhisperBackend

        return WhisperBackend(model)
    raise ValueError(f"Unknown SSL backend {kind!r}; expected 'wav2vec2' or 'whisper'")


def padding_mask(flen: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(B, F) bool, True on frames ``>= flen[b]``."""
    return torch.arange(num_frames, device=flen.device)[None, :] >= flen[:, None]
