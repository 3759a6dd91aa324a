"""The probe's measures for one utterance, per layer and loss (functional core, no file I/O).

Every measure is the loss ``L(u, c)`` between the clean utterance ``u`` as
the reference (perturbed as in training when the loss is in training mode)
and a candidate ``c`` in the role of the front-end's output.  The frames of
``c`` that enter the loss always cover ``u``'s samples, ``F_u`` of them:
candidates built by zero-padding in whole hops (the rule of ``ssl_mse_pad``)
have their padding frames dropped, so only the position at which the
encoder saw the content changes, never which samples are compared.

=============  =============================================================
``self``       ``c = u``: the floor (0 for ``ssl_mse``; the cost of the
               training perturbation for ``ssl_mse_pad`` / ``ssl_sdtw``)
``shift_k``    ``c = u`` delayed by ``k`` hops (``k`` zero hops in front):
               same content, absolute position moved by ``k`` frames
``other``      ``c = v``, another utterance cut / zero-padded to ``u``'s
               length: same positions, other content
``envelope``   ``c = e``, white noise shaped by ``u``'s energy envelope
               (:func:`~espnet2_ext.probe.signals.envelope_noise`): ``u``'s
               length and envelope, no content
``silence``    ``c = 0`` of ``u``'s length
``white``      white noise of ``u``'s length and overall RMS
``mismatched`` ``c = e`` (the same noise) inside a longer signal: ``K`` zero
               hops before and ``K`` after, ``K = max(1, round(mismatch *
               F_u))``: the envelope is still aligned with ``u``'s, but the
               length and absolute positions are not
=============  =============================================================

The positional-shortcut index combines ``envelope`` and ``mismatched``
(:func:`espnet2_ext.probe.stats.shortcut_index`).
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from espnet2_ext.probe import signals
from espnet2_ext.probe.losses import ProbeLoss, seed_for


@dataclass(frozen=True)
class ProbeConfig:
    """Settings of the measures.

    Attributes:
        shifts: delays ``k`` (hops) of the ``shift_k`` measures.
        mismatch: zero hops added on each side of the ``mismatched``
            candidate, as a fraction of ``u``'s frame count (at least 1 hop).
        seed: seed of the noises and of the training-time perturbations
            (combined with the utterance id, so an utterance's values do not
            depend on the others).
    """

    shifts: Tuple[int, ...] = (1, 2, 5, 10)
    mismatch: float = 0.25
    seed: int = 0

    def __post_init__(self):
        if not self.shifts or any(int(k) != k or k < 1 for k in self.shifts):
            raise ValueError(f"shifts must be positive whole numbers of hops, got {list(self.shifts)}")
        if not self.mismatch > 0:
            raise ValueError(f"mismatch must be > 0 (a fraction of the utterance's frames), got {self.mismatch}")


def measure_names(shifts: Sequence[int]) -> List[str]:
    """Measure names in report order."""
    return ["self"] + [f"shift_{int(k)}" for k in shifts] + ["other", "envelope", "silence", "white", "mismatched"]


@dataclass
class Candidate:
    """A probe signal ``wav`` (T',) whose frames ``head .. head + F_u - 1`` are compared with ``u``'s."""

    wav: torch.Tensor
    head: int = 0


def mismatch_hops(n_frames: int, mismatch: float) -> int:
    """Zero hops added on each side of the ``mismatched`` candidate."""
    return max(1, int(round(mismatch * n_frames)))


def build_candidates(
    u: torch.Tensor, v: Optional[torch.Tensor], hop: int, n_frames: int, cfg: ProbeConfig, key: str
) -> Dict[str, Candidate]:
    """The candidate signals of one utterance ``u`` (T,), ``v`` the paired utterance (or None).

    ``n_frames`` is ``u``'s frame count (for the ``mismatched`` padding).
    Noises are drawn from generators seeded by ``(cfg.seed, key)``.
    """
    T = u.shape[0]
    gen = torch.Generator().manual_seed(seed_for(cfg.seed, key, "envelope"))
    e = signals.envelope_noise(u.cpu(), gen).to(u.device)
    gen_w = torch.Generator().manual_seed(seed_for(cfg.seed, key, "white"))
    K = mismatch_hops(n_frames, cfg.mismatch)
    out: Dict[str, Candidate] = {"self": Candidate(u)}
    for k in cfg.shifts:
        out[f"shift_{int(k)}"] = Candidate(signals.place(u, int(k), 0, hop), head=int(k))
    if v is not None:
        out["other"] = Candidate(signals.fit_length(v.to(u.device, u.dtype), T))
    out["envelope"] = Candidate(e)
    out["silence"] = Candidate(torch.zeros_like(u))
    out["white"] = Candidate(signals.white_noise(T, signals.rms(u), gen_w, dtype=u.dtype).to(u.device))
    out["mismatched"] = Candidate(signals.place(e, K, K, hop), head=K)
    return out


def aligned_features(up, cand: Candidate, n_frames: int) -> Tuple[List[torch.Tensor], torch.Tensor]:
    """Hidden states of a candidate, restricted to the ``n_frames`` frames that cover ``u``.

    Returns ``num_layers + 1`` tensors (1, n_frames, D) and the frame length (1,).
    """
    wav = cand.wav
    with torch.no_grad():
        layers, flen = up.extract_layers(wav[None], torch.tensor([wav.shape[0]], device=wav.device))
    have = int(flen[0])
    if have < cand.head + n_frames:
        raise ValueError(
            f"upstream {getattr(up, 'name', '?')!r}: {wav.shape[0]} samples gave {have} frames, fewer than the "
            f"{cand.head} + {n_frames} expected; the probe needs one more frame per hop of {up.hop_length} samples"
        )
    sl = slice(cand.head, cand.head + n_frames)
    return [h[:, sl] for h in layers], torch.tensor([n_frames], device=flen.device)


def probe_utterance(
    up,
    losses: Sequence[ProbeLoss],
    u: torch.Tensor,
    v: Optional[torch.Tensor],
    layers: Sequence[int],
    cfg: ProbeConfig,
    key: str,
) -> Dict[str, Dict[int, Dict[str, float]]]:
    """All measures of one utterance ``u`` (T,): ``{loss: {layer: {measure: value}}}``.

    ``up`` is anything with the :class:`espnet2_ext.ssl.SSLUpstream`
    interface (``extract_layers``, ``frame_lengths``, ``hop_length``,
    ``min_samples``).  ``v`` (the paired utterance) may be None: no
    ``other`` measure then.  ``key`` (the utterance id) seeds the noises and
    the training-time perturbations.
    """
    if u.dim() != 1:
        raise ValueError(f"u must be a waveform (T,), got shape {tuple(u.shape)}")
    if u.shape[0] < up.min_samples:
        raise ValueError(f"utterance {key!r} has {u.shape[0]} samples, fewer than the upstream's {up.min_samples}")
    n_frames = int(up.frame_lengths(torch.tensor([u.shape[0]]))[0])
    cands = build_candidates(u, v, up.hop_length, n_frames, cfg, key)
    feats = {name: aligned_features(up, c, n_frames) for name, c in cands.items()}
    names = list(feats)
    # every candidate has n_frames compared frames: one batched comparison per loss and layer
    stacked = {int(l): torch.cat([feats[name][0][l] for name in names], dim=0) for l in layers}
    flens = torch.full((len(names),), n_frames, dtype=torch.long, device=u.device)
    out: Dict[str, Dict[int, Dict[str, float]]] = {}
    for loss in losses:
        ref_layers, ref_flen, info = loss.reference(up, u, seed_for(cfg.seed, key, loss.name))
        per_layer: Dict[int, Dict[str, float]] = {}
        for layer in layers:
            with torch.no_grad():
                vals = loss.compare_many(ref_layers[layer], ref_flen, stacked[int(layer)], flens, info)
            per_layer[int(layer)] = {name: float(v) for name, v in zip(names, vals.reshape(-1).tolist())}
        out[loss.name] = per_layer
    return out
