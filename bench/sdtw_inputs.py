"""Inputs of the soft-DTW benchmark (``bench/soft_dtw.py``): pairs of feature batches.

Kinds (``--features``):

* ``unit``: x, y ~ N(0, 1) per coordinate, every frame scaled to unit L2
  norm: what ``ssl_sdtw`` compares by default (``l2_normalize: true``), so
  costs lie in [0, 4] and at gamma 0.1 the alignment is soft.
* ``gauss``: x, y ~ N(0, scale^2) (``--scale``, default 1): large cost
  differences, a sharp alignment.
* ``ssl:NAME``: real frames of the frozen encoder ``NAME`` (e.g.
  ``whisper_tiny_en``, ``tiny``; no download) on the AN4 audio under
  ``--audio-dir``, L2-normalised as in ``ssl_sdtw``; x from the audio as it
  is, y from the same audio speed-perturbed by 0.9 or 1.1 (alternating per
  item), as in ``ssl_sdtw``'s training.  Item ``b`` starts at an utterance
  boundary of both streams and runs N frames across the following
  utterances, so x and y hold the same content, drifting 10% apart.  The
  frames are computed once and kept in ``~/.cache/espnet2_ext/bench/``.

Every kind returns float32 CPU tensors ``x (B, N, d)``, ``y (B, N, d)``.
"""

import functools
from pathlib import Path

import torch


def unit_frames(batch, n, d, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n, d, generator=g)
    y = torch.randn(batch, n, d, generator=g)
    return x / x.norm(dim=-1, keepdim=True), y / y.norm(dim=-1, keepdim=True)


def gauss_frames(batch, n, d, seed, scale):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, n, d, generator=g) * scale, torch.randn(batch, n, d, generator=g) * scale


def _read_audio(audio_dir):
    import soundfile as sf

    files = sorted(Path(audio_dir).rglob("*.sph")) + sorted(Path(audio_dir).rglob("*.wav"))
    if not files:
        raise FileNotFoundError(f"no .sph or .wav files under {audio_dir}")
    waves = []
    for f in files:
        wav, sr = sf.read(str(f), dtype="float32")
        if sr != 16000:
            raise ValueError(f"{f}: {sr} Hz, the SSL encoders need 16 kHz")
        waves.append(torch.from_numpy(wav if wav.ndim == 1 else wav[:, 0]))
    return waves


def _cache_file(name, audio_dir):
    """Where the frames of ``name`` on ``audio_dir`` are kept between runs (outside
    the repository: ``$XDG_CACHE_HOME`` or ``~/.cache``), keyed by the audio files."""
    import hashlib
    import os

    files = sorted(str(p) + str(p.stat().st_size) for p in Path(audio_dir).rglob("*") if p.is_file())
    key = hashlib.sha1("\n".join([name] + files).encode()).hexdigest()[:16]
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "espnet2_ext" / "bench"
    return root / f"sdtw_frames_{name}_{key}.pt"


@functools.lru_cache(maxsize=4)
def _streams(name, audio_dir):
    """Frame streams (F, d) of the audio as it is and speed-perturbed by 0.9
    and 1.1, with each utterance's first frame in each stream (computed once,
    then read from the cache file)."""
    cache = _cache_file(name, audio_dir)
    if cache.is_file():
        return torch.load(cache)
    from espnet2_ext.augment.perturb import speed_perturb
    from espnet2_ext.ssl import SSLUpstream

    up = SSLUpstream(name, l2_normalize=True)
    streams = {1.0: [], 0.9: [], 1.1: []}
    with torch.no_grad():
        for wav in _read_audio(audio_dir):
            for f, parts in streams.items():
                w, n = speed_perturb(wav[None], torch.tensor([wav.numel()]), f)
                feats, flen = up(w[:, : int(n[0])])
                parts.append(feats[0, : int(flen[0])])
    out = {}
    for f, parts in streams.items():
        starts = torch.cumsum(torch.tensor([0] + [p.shape[0] for p in parts[:-1]]), 0)
        out[f] = (torch.cat(parts), starts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, cache)
    return out


def ssl_frames(name, audio_dir, batch, n):
    streams = _streams(name, str(audio_dir))
    xs, xstarts = streams[1.0]
    xb, yb = [], []
    for b in range(batch):
        f = 0.9 if b % 2 == 0 else 1.1
        ys, ystarts = streams[f]
        u = (7 * b) % len(xstarts)  # spread the items over the utterances
        xb.append(_window(xs, int(xstarts[u]), n))
        yb.append(_window(ys, int(ystarts[u]), n))
    return torch.stack(xb).contiguous(), torch.stack(yb).contiguous()


def _window(stream, start, n):
    """n frames from ``start``, wrapping around the end of the stream."""
    idx = (torch.arange(n) + start) % stream.shape[0]
    return stream[idx]


def make_inputs(kind, batch, n, d, seed=0, scale=1.0, audio_dir=None):
    """(x, y) float32 CPU tensors of one benchmark row; ``d`` is ignored for ``ssl:``."""
    if kind == "unit":
        return unit_frames(batch, n, d, seed)
    if kind == "gauss":
        return gauss_frames(batch, n, d, seed, scale)
    if kind.startswith("ssl:"):
        return ssl_frames(kind[4:], audio_dir, batch, n)
    raise ValueError(f"unknown features kind {kind!r} (unit, gauss, ssl:NAME)")
