"""Constructed encoders with the duck-typed interface of :class:`espnet2_ext.ssl.SSLUpstream`.

Each maps a waveform batch (B, T) to ``num_layers + 1`` hidden states
(B, F, D) with the frame arithmetic of the real upstreams (hop 320,
receptive field 400 samples), frames beyond each frame length set to 0.
Where the answer is known:

* :class:`PositionalEncoder` -- an explicit sinusoidal positional embedding
  and no content path: every signal of a given length has the same features;
* :class:`ConvEncoder` -- a plain bias-free convolution stack with ``tanh``
  (silence maps to 0, so zero-padding in whole hops shifts the features):
  shift-equivariant, no positional path;
* :class:`MixedEncoder` -- a content convolution plus a strong positional
  embedding (a transformer input), then per-frame layers;
* :class:`FramingEncoder` -- the raw waveform frames (400 samples) as
  features, for values checked by hand.
"""

import math

import torch
from torch import nn

HOP, WIN = 320, 400


class _Base(nn.Module):
    hop_length = HOP
    min_samples = WIN
    sample_rate = 16000
    num_layers = 2
    feature_dim = 16

    def __init__(self, name):
        super().__init__()
        self.name = name

    def frame_lengths(self, sample_lengths):
        n = torch.as_tensor(sample_lengths).long()
        return torch.clamp(torch.div(n - WIN, HOP, rounding_mode="floor") + 1, min=0)

    def _frames(self, wav, lengths):
        if lengths is None:
            lengths = torch.full((wav.shape[0],), wav.shape[1], dtype=torch.long)
        lengths = torch.as_tensor(lengths).long()
        mask = torch.arange(wav.shape[1])[None, :] < lengths[:, None]
        wav = wav * mask
        flen = self.frame_lengths(lengths)
        frames = wav.unfold(1, WIN, HOP)  # (B, F, WIN)
        return frames, flen

    @staticmethod
    def _mask(hidden, flen):
        F = hidden[0].shape[1]
        keep = (torch.arange(F)[None, :] < flen[:, None])[..., None]
        return [h * keep for h in hidden]


def sinusoids(n_frames, dim):
    pos = torch.arange(n_frames, dtype=torch.float32)[:, None]
    i = torch.arange(dim // 2, dtype=torch.float32)[None, :]
    ang = pos / (20.0 ** (2 * i / dim))
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=-1)  # (F, dim)


def _random_matrix(gen, d_in, d_out):
    return torch.randn(d_in, d_out, generator=gen) / math.sqrt(d_in)


class PositionalEncoder(_Base):
    """Features depend only on the frame index: sinusoids, then per-frame tanh layers."""

    def __init__(self, seed=0):
        super().__init__("positional")
        g = torch.Generator().manual_seed(seed)
        self.w = [_random_matrix(g, self.feature_dim, self.feature_dim) * 2 for _ in range(self.num_layers)]

    def extract_layers(self, wav, lengths=None):
        frames, flen = self._frames(wav, lengths)
        B, F, _ = frames.shape
        h = sinusoids(F, self.feature_dim)[None].expand(B, F, -1)
        hidden = [h]
        for w in self.w:
            h = torch.tanh(h @ w)
            hidden.append(h)
        return self._mask(hidden, flen), flen


class ConvEncoder(_Base):
    """Bias-free strided conv (400/320) and two kernel-3 conv layers, tanh: shift-equivariant."""

    def __init__(self, seed=0):
        super().__init__("conv")
        g = torch.Generator().manual_seed(seed)
        self.w0 = _random_matrix(g, WIN, self.feature_dim) * 20
        self.convs = [torch.randn(self.feature_dim, self.feature_dim, 3, generator=g) / math.sqrt(3 * self.feature_dim)
                      for _ in range(self.num_layers)]

    def extract_layers(self, wav, lengths=None):
        frames, flen = self._frames(wav, lengths)
        h = torch.tanh(frames @ self.w0)
        hidden = [h]
        for w in self.convs:
            h = torch.tanh(2 * nn.functional.conv1d(h.transpose(1, 2), w, padding=1).transpose(1, 2))
            hidden.append(h)
        return self._mask(hidden, flen), flen


class MixedEncoder(_Base):
    """Content conv plus ``alpha`` times a sinusoidal positional embedding, then per-frame tanh layers."""

    def __init__(self, alpha=3.0, seed=0):
        super().__init__("mixed")
        g = torch.Generator().manual_seed(seed)
        self.alpha = alpha
        self.w0 = _random_matrix(g, WIN, self.feature_dim) * 20
        self.w = [_random_matrix(g, self.feature_dim, self.feature_dim) * 2 for _ in range(self.num_layers)]

    def extract_layers(self, wav, lengths=None):
        frames, flen = self._frames(wav, lengths)
        B, F, _ = frames.shape
        h = torch.tanh(frames @ self.w0) + self.alpha * sinusoids(F, self.feature_dim)[None]
        hidden = [h]
        for w in self.w:
            h = torch.tanh(h @ w)
            hidden.append(h)
        return self._mask(hidden, flen), flen


class FramingEncoder(_Base):
    """Layer 0: the waveform frames themselves (D = 400); layer 1: twice that."""

    num_layers = 1
    feature_dim = WIN

    def __init__(self):
        super().__init__("framing")

    def extract_layers(self, wav, lengths=None):
        frames, flen = self._frames(wav, lengths)
        return self._mask([frames, 2 * frames], flen), flen


def speechlike(seed, seconds=1.5, sr=16000):
    """A deterministic speech-like test signal: harmonic segments of random pitch under a syllabic envelope."""
    g = torch.Generator().manual_seed(seed)
    T = int(seconds * sr)
    t = torch.arange(T, dtype=torch.float64) / sr
    seg = 1600  # 100 ms segments of changing pitch / formant
    n_seg = -(-T // seg)
    f0 = (100 + 150 * torch.rand(n_seg, generator=g, dtype=torch.float64)).repeat_interleave(seg)[:T]
    phase = 2 * math.pi * torch.cumsum(f0, 0) / sr
    amps = torch.rand(n_seg, 6, generator=g, dtype=torch.float64).repeat_interleave(seg, 0)[:T]
    x = sum(amps[:, h] * torch.sin((h + 1) * phase) for h in range(6))
    syll = 0.5 - 0.5 * torch.cos(2 * math.pi * t * (3 + torch.rand(1, generator=g, dtype=torch.float64)))
    x = x * syll * 0.05 + 0.002 * torch.randn(T, generator=g, dtype=torch.float64)
    return x.float()
