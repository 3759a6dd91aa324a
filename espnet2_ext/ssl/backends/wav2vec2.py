"""Backend ``wav2vec2``: torchaudio ``Wav2Vec2Model`` (wav2vec 2.0, HuBERT, WavLM), padding-invariant.

torchaudio's ``extract_features`` mixes batch-mates in two places, which
this backend computes per utterance instead:

* the Base models' first convolution is followed by a GroupNorm over
  (channels x time): here over each utterance's valid frames only
  (:func:`masked_group_norm`); the Large models' waveform normalisation is
  likewise over each utterance's valid samples (:func:`masked_standardize`);
* attention: a key padding mask for every model (WavLM's layers take an
  additive ``key_padding_mask``; the others a boolean attention mask).

Hidden state 0 is the transformer input -- CNN features after the feature
projection and the convolutional positional embedding (plus the encoder
layer norm of post-LN models), i.e. SUPERB's "layer 0" -- and ``i`` the
output of transformer layer ``i``.  The final encoder layer norm of pre-LN
(Large) models is not applied, as in torchaudio's ``extract_features``.
"""

from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from espnet2_ext.ssl._torchaudio import transformer_input
from espnet2_ext.ssl.backends import Backend, padding_mask


class Wav2Vec2Backend(Backend):
    def __init__(self, model: nn.Module, model_type: str, normalize_waveform: bool):
        self.model_type = model_type
        self.is_wavlm = model_type == "WavLM"
        self.normalize_waveform = bool(normalize_waveform)
        self.conv: List[Tuple[int, int]] = [
            (b.conv.kernel_size[0], b.conv.stride[0]) for b in model.feature_extractor.conv_layers
        ]
        hop, rf = 1, 1
        for k, s in self.conv:
            rf += (k - 1) * hop
            hop *= s
        self.hop_length = hop
        self.min_samples = rf
        self.num_layers = len(model.encoder.transformer.layers)
        self.feature_dim = model.encoder.feature_projection.projection.out_features

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        n = torch.as_tensor(sample_lengths).long()
        for k, s in self.conv:
            n = torch.clamp(torch.div(n - k, s, rounding_mode="floor") + 1, min=0)
        return n

    def _cnn(self, model: nn.Module, wav: torch.Tensor, lengths: torch.Tensor, padded: bool):
        x = wav.unsqueeze(1)
        n = lengths
        for block in model.feature_extractor.conv_layers:
            x = block.conv(x)
            k, s = block.conv.kernel_size[0], block.conv.stride[0]
            n = torch.clamp(torch.div(n - k, s, rounding_mode="floor") + 1, min=0)
            norm = block.layer_norm
            if norm is not None:
                if isinstance(norm, nn.GroupNorm) and padded:
                    x = masked_group_norm(x, n, norm)
                else:  # per-frame LayerNorm (or unpadded batch): nothing crosses utterances
                    x = norm(x)
            x = F.gelu(x)
        return x.transpose(1, 2), n

    def hidden_states(self, model, wav, lengths, upto):
        dtype = model.encoder.feature_projection.projection.weight.dtype
        wav = wav.to(dtype)
        B, T = wav.shape
        padded = bool((lengths < T).any())
        smask = None
        if padded:
            smask = torch.arange(T, device=wav.device)[None, :] < lengths[:, None]
            wav = wav.masked_fill(~smask, 0.0)
        if self.normalize_waveform:
            wav = masked_standardize(wav, lengths, smask)

        x, flen = self._cnn(model, wav, lengths, padded)
        Fr = x.shape[1]
        pad = padding_mask(flen, Fr)
        fpadded = bool(pad.any())

        enc = model.encoder
        x = enc.feature_projection(x)
        if fpadded:
            x = x.masked_fill(pad[..., None], 0.0)
        tr = enc.transformer
        x = transformer_input(tr, x)
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


def masked_group_norm(x: torch.Tensor, n: torch.Tensor, norm: nn.GroupNorm) -> torch.Tensor:
    """GroupNorm over (channels-in-group x valid frames) of each utterance.

    ``x`` is (B, C, T); frames ``>= n[b]`` are ignored for the statistics and
    come out 0.  With all frames valid this equals ``norm(x)``.
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


def masked_standardize(wav: torch.Tensor, lengths: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Per-utterance zero-mean/unit-variance over the valid samples (eps 1e-5, as layer_norm); (B, T) -> (B, T)."""
    if mask is None:
        return F.layer_norm(wav, wav.shape[-1:])
    m = mask.to(wav.dtype)
    count = lengths.to(wav.dtype)[:, None]
    mean = (wav * m).sum(-1, keepdim=True) / count
    var = (((wav - mean) * m) ** 2).sum(-1, keepdim=True) / count
    return (wav - mean) * torch.rsqrt(var + 1e-5) * m
