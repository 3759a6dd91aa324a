"""Backend ``whisper``: openai-whisper's audio encoder on a differentiable, padding-invariant log-mel.

Front end (Whisper's own: 25 ms Hann window, 10 ms hop, 80 mel bands from
openai-whisper's ``mel_filters.npz``, ``log10`` clamped at 1e-10, floored at
the maximum - 8, then ``(x + 4) / 4``), computed with ``torch.stft`` so the
gradient reaches the waveform, and per utterance:

* each utterance is analysed as if followed by silence (zeros), which is
  what Whisper's ``transcribe`` does (it appends 30 s of zeros), with
  ``torch.stft``'s reflect padding at its start; mel frame ``t`` is centred on
  sample ``160 t`` and an utterance of ``L`` samples has ``L // 160`` frames;
* the maximum used for the floor is the utterance's own (batch-mates and
  the padding never enter it);
* the convolution stem sees, after the utterance's last frame, the mel of
  that silence (as in Whisper's 30-s input), never a batch-mate's samples;
* attention uses a key padding mask: padding frames are never attended to.

Encoder frames are 20 ms (hop 320 samples): ``F = (L // 160 + 1) // 2``.
Hidden state 0 is the input of the first block (conv stem + positional
embedding), ``i`` the output of block ``i``; Whisper's final ``ln_post`` is
not applied (it feeds the decoder, not a block).

**Length.**  The positional table (1500 frames = 30 s) is sliced to the
input's length, as ESPnet's Whisper frontend does, instead of padding every
utterance to 30 s.  This changes the features: Whisper was trained on 30-s
windows, where a short utterance is followed by silence frames that every
frame attends to; here attention covers the utterance only.
``docs/upstreams.md`` gives the measured per-layer cosine similarity of the
two on a real AN4 clip.  Inputs longer than 30 s are encoded in consecutive
30-s windows (3000 mel frames each), each with positions from 0 and
ending at its own edge (the convolution's zero padding there, as in
Whisper's 30-s input) -- Whisper's own chunking -- and the windows' frames
are concatenated, so any length works and frame ``j`` covers samples around
``320 j`` throughout.
"""

from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from espnet2_ext.ssl.backends import Backend, padding_mask

SAMPLE_RATE = 16000
N_FFT = 400
MEL_HOP = 160
HOP_LENGTH = 2 * MEL_HOP  # the stem's second convolution has stride 2
MIN_SAMPLES = N_FFT  # one full analysis window (the start's reflect padding needs > N_FFT // 2)
# mel frames computed past the longest utterance's last one: the stem reads two
# (conv1 of stride 1 feeding conv2 of stride 2), the maximum may see three
_TAIL_FRAMES = 3


class WhisperEncoderModel(nn.Module):
    """The weights of a Whisper upstream: openai-whisper ``AudioEncoder`` + front-end constants.

    ``mel_filters`` (n_mels, 201) and the Hann ``window`` are non-persistent
    buffers: they follow ``.to(device)`` and never enter a state dict.
    """

    def __init__(self, encoder: nn.Module):
        super().__init__()
        from whisper.audio import mel_filters

        self.encoder = encoder
        n_mels = encoder.conv1.in_channels
        self.register_buffer("mel_filters", mel_filters("cpu", n_mels).clone().float(), persistent=False)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)


def mel_frames(sample_lengths: torch.Tensor) -> torch.Tensor:
    """Mel frames of each utterance: ``L // 160`` (Whisper's count)."""
    return torch.div(torch.as_tensor(sample_lengths).long(), MEL_HOP, rounding_mode="floor")


def log_mel(model: WhisperEncoderModel, wav: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Whisper log-mel of each row of ``wav`` (B, T), zeros beyond each utterance -> (B, n_mels, num_frames).

    Row ``b`` equals Whisper's ``log_mel_spectrogram(audio_b, padding=...)``
    on that utterance alone (followed by zeros) for every frame it has, and
    the silence value beyond; ``num_frames`` may exceed ``T // 160``.
    """
    B, T = wav.shape
    x = F.pad(wav[:, None, :], (N_FFT // 2, 0), mode="reflect")[:, 0]
    need = (num_frames - 1) * MEL_HOP + N_FFT  # samples the last frame reads
    x = F.pad(x, (0, max(0, need - x.shape[1])))
    spec = torch.stft(x, N_FFT, MEL_HOP, window=model.window.to(x.dtype), center=False, return_complex=True)
    power = torch.view_as_real(spec[..., :num_frames]).pow(2).sum(-1)  # |z|^2 with a finite gradient at 0
    mel = model.mel_filters.to(power.dtype) @ power
    logs = torch.clamp(mel, min=1e-10).log10()
    floor = logs.amax(dim=(1, 2), keepdim=True) - 8.0  # silence frames are -10: never above a real maximum
    return (torch.maximum(logs, floor) + 4.0) / 4.0


def attention_block(block: nn.Module, x: torch.Tensor, keep: Optional[torch.Tensor]) -> torch.Tensor:
    """One openai-whisper ``ResidualAttentionBlock`` with a key padding mask.

    ``x`` (B, F, D); ``keep`` (B, 1, 1, F) bool, True where a key may be
    attended to, or None.  Same arithmetic as the block's own forward
    (pre-LN self-attention, scale ``d_head ** -0.5``, GELU MLP).
    """
    attn = block.attn
    h = block.attn_ln(x)
    B, Fr, D = h.shape
    heads = attn.n_head

    def split(t):
        return t.view(B, Fr, heads, D // heads).transpose(1, 2)

    o = F.scaled_dot_product_attention(split(attn.query(h)), split(attn.key(h)), split(attn.value(h)),
                                       attn_mask=keep)
    x = x + attn.out(o.transpose(1, 2).reshape(B, Fr, D))
    return x + block.mlp(block.mlp_ln(x))


class WhisperBackend(Backend):
    def __init__(self, model: WhisperEncoderModel):
        enc = model.encoder
        self.hop_length = HOP_LENGTH
        self.min_samples = MIN_SAMPLES
        self.num_layers = len(enc.blocks)
        self.feature_dim = enc.conv2.out_channels
        self.n_ctx = enc.positional_embedding.shape[0]  # 1500 frames = 30 s

    def frame_lengths(self, sample_lengths: torch.Tensor) -> torch.Tensor:
        n = torch.as_tensor(sample_lengths).long()
        frames = torch.div(mel_frames(n) + 1, 2, rounding_mode="floor")
        return torch.where(n >= self.min_samples, frames, torch.zeros_like(frames))

    def _windows(self, mel: torch.Tensor, nmel: torch.Tensor, K: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, n_mels, K*W) -> (B*K, n_mels, W): windows of W = 2 n_ctx mel frames (30 s).

        Also returns each window's valid mel frames (B*K,).  A window ends
        at its own right edge: the stem's convolutions pad it with zeros, as
        Whisper's own 30-s input.
        """
        W = 2 * self.n_ctx
        B, M = mel.shape[:2]
        win = mel.reshape(B, M, K, W).permute(0, 2, 1, 3).reshape(B * K, M, W)
        starts = torch.arange(K, device=mel.device) * W
        valid = (nmel[:, None] - starts[None, :]).clamp(0, W).reshape(B * K)
        return win, valid

    def hidden_states(self, model, wav, lengths, upto):
        enc = model.encoder
        wav = wav.to(enc.conv1.weight.dtype)
        B, T = wav.shape
        if bool((lengths < T).any()):
            wav = wav.masked_fill(torch.arange(T, device=wav.device)[None, :] >= lengths[:, None], 0.0)
        nmel = mel_frames(lengths)
        flen = self.frame_lengths(lengths)
        n_max = int(nmel.max())
        W = 2 * self.n_ctx
        K = max(1, -(-n_max // W))  # 30-s windows
        if K == 1:  # positional table sliced to the longest utterance; silence after each one
            mel = log_mel(model, wav, n_max + _TAIL_FRAMES)[..., :W]  # ends at the 30-s window's edge
            wlen, Fr = flen, int(flen.max())
        else:
            mel, wmel = self._windows(log_mel(model, wav, K * W), nmel, K)
            wlen = torch.div(wmel + 1, 2, rounding_mode="floor")  # frames per window
            rows = (wlen > 0).nonzero()[:, 0]  # windows past an utterance's end are not computed
            mel, wlen, Fr = mel.index_select(0, rows), wlen.index_select(0, rows), self.n_ctx
        x = F.gelu(enc.conv1(mel))
        x = F.gelu(enc.conv2(x))[:, :, :Fr].transpose(1, 2)
        x = x + enc.positional_embedding[:Fr].to(x.dtype)
        pad = padding_mask(wlen, Fr)
        keep = None if not bool(pad.any()) else (~pad)[:, None, None, :]
        if keep is not None:
            x = x.masked_fill(pad[..., None], 0.0)
        hidden: List[torch.Tensor] = [x]
        for block in enc.blocks[:upto]:
            x = attention_block(block, x, keep)
            hidden.append(x.masked_fill(pad[..., None], 0.0) if keep is not None else x)
        if K > 1:  # windows back to utterances: frame j of window k is frame k * n_ctx + j
            F_out = int(flen.max())
            out = []
            for h in hidden:
                full = h.new_zeros(B * K, Fr, h.shape[-1]).index_copy(0, rows, h)
                out.append(full.reshape(B, K * Fr, h.shape[-1])[:, :F_out])
            hidden = out
            pad = padding_mask(flen, F_out)
        return hidden, flen, pad if bool(pad.any()) else None
