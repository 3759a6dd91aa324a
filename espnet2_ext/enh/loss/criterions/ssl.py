"""SSL-representation losses for enhancement/separation front-ends.

Each criterion passes the estimate ``inf`` and the clean reference ``ref``
through a frozen SSL encoder (:class:`espnet2_ext.ssl.SSLUpstream`) and
compares the two frame sequences:

========================  ==================================================
``ssl_mse``               frame-wise MSE (the baseline; with an ASR encoder
                          such as ``wav2vec2_asr_base_960h`` as upstream it is
                          the "ASR-encoder embedding loss")
``ssl_mse_pad``           training: the reference is zero-padded by a random
                          whole number of SSL hops; the frames of the padding
                          are dropped, so content matches while absolute
                          positions differ.  Eval: equals ``ssl_mse``.
``ssl_sdtw``              training: the reference is speed-perturbed; the two
                          sequences, each with its own length, are compared by
                          soft-DTW (divergence by default).  Eval: no
                          perturbation, identical inputs give 0.
========================  ==================================================

Shapes: ``forward(ref (B, T), inf (B, T), lengths (B,) | None) -> (B,)``.
Reference features are computed without gradient; padded frames never enter
a loss, so an utterance's loss does not depend on its batch-mates.  Lengths
come from the argument, else from the ``forward_loss`` context that
:mod:`espnet2_ext.plugin` installs, else from the reference's zero padding
(:func:`espnet2_ext.enh.lengths.resolve_lengths`).

The frozen encoder is built lazily on first use (so loading a trained SE
model for inference never needs SSL weights) and is held outside the module
tree: it never enters a checkpoint, an optimizer or DDP, and it follows the
device of the signals it is given.  One encoder is built per source (name +
source options) and device, whatever the criterions' ``layers`` and
``l2_normalize``: those are applied to its hidden states per call, so
``ssl_mse`` + ``ssl_sdtw`` in one config share one copy of the weights.
"""

import json
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from espnet2.enh.loss.criterions.time_domain import TimeDomainLoss

from espnet2_ext.augment import speed_perturb, zero_pad
from espnet2_ext.enh.lengths import resolve_lengths
from espnet2_ext.ops.soft_dtw import soft_dtw
from espnet2_ext.ssl import SSLUpstream, parse_layers

# One frozen encoder per (source, device), shared by every criterion of the
# process (e.g. ssl_mse and ssl_sdtw on the same upstream in one config);
# layer choice and L2 normalisation are each criterion's post-processing.
_UPSTREAMS: Dict[Tuple[str, str], SSLUpstream] = {}

# SSLUpstream arguments that are criterion options, not source options
_NOT_SOURCE_OPTIONS = ("name", "layers", "l2_normalize", "sample_rate", "freeze")


def _shared_upstream(source: dict, device: torch.device) -> SSLUpstream:
    """The encoder of ``source`` (``name`` + source options) on ``device``, built on first use."""
    key = (json.dumps(source, sort_keys=True, default=str), str(device))
    up = _UPSTREAMS.get(key)
    if up is None:
        up = SSLUpstream(**source).to(device)
        _UPSTREAMS[key] = up
    return up


def _masked_frame_mse(
    a: torch.Tensor, b: torch.Tensor, frame_lengths: torch.Tensor
) -> torch.Tensor:
    """Mean over valid frames and feature dims of (a - b)^2: (B, F, D) -> (B,)."""
    F = a.size(1)
    mask = torch.arange(F, device=a.device)[None, :] < frame_lengths[:, None]
    se = ((a - b) ** 2).sum(-1) * mask
    return se.sum(1) / (frame_lengths.clamp(min=1) * a.size(-1))


class SSLRepresentationLoss(TimeDomainLoss):
    """Base class: frozen-encoder features of ``ref`` and ``inf``, compared.

    Args:
        upstream: encoder name (``tiny``, a torchaudio bundle name such as
            ``hubert_base``/``wavlm_base_plus``/``wav2vec2_asr_base_960h``, or
            ``checkpoint:PATH``), see :class:`espnet2_ext.ssl.SSLUpstream`.
        upstream_conf: further keyword arguments of the encoder (e.g.
            ``arch`` for a ``checkpoint:`` file).
        layers: ``"last"``, a layer index, or a list of indices (averaged).
        l2_normalize: L2-normalise each frame before comparing.
        name: the loss name in ESPnet's stats (default: the registered name).
    """

    default_name = "ssl"

    def __init__(
        self,
        upstream: str = "tiny",
        upstream_conf: Optional[dict] = None,
        layers: Union[str, int, Sequence[int]] = "last",
        l2_normalize: bool = False,
        name: Optional[str] = None,
        only_for_test: bool = False,
        is_noise_loss: bool = False,
        is_dereverb_loss: bool = False,
    ):
        super().__init__(
            name or self.default_name,
            only_for_test=only_for_test,
            is_noise_loss=is_noise_loss,
            is_dereverb_loss=is_dereverb_loss,
        )
        if isinstance(layers, (list, tuple)):
            layers = [int(i) for i in layers]
        source_conf = dict(upstream_conf or {})
        for key in _NOT_SOURCE_OPTIONS:
            if key in source_conf:
                raise ValueError(
                    f"{self.name}: upstream_conf must not set {key!r} "
                    f"({'the upstream option' if key == 'name' else 'a criterion option'})"
                )
        self._source = dict(name=upstream, **source_conf)
        self.layers = layers
        self.l2_normalize = bool(l2_normalize)
        self._layer_index: Optional[list] = None

    def upstream(self, device: torch.device) -> SSLUpstream:
        """The frozen encoder on ``device`` (built on first use, shared by source)."""
        return _shared_upstream(self._source, device)

    def layer_indices(self, up: SSLUpstream) -> list:
        """This criterion's hidden-state indices on ``up`` (``layers`` resolved once)."""
        if self._layer_index is None:
            self._layer_index = parse_layers(self.layers, up.num_layers)
        return self._layer_index

    def features(
        self, up: SSLUpstream, wav: torch.Tensor, lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """This criterion's view of ``up``'s hidden states: (B, T) -> ((B, F, D), (B,))."""
        return up(wav, lengths, layers=self.layer_indices(up), l2_normalize=self.l2_normalize)

    # -- hooks for subclasses ------------------------------------------------
    def perturb_reference(
        self, ref: torch.Tensor, lengths: torch.Tensor, up: SSLUpstream
    ) -> Tuple[torch.Tensor, torch.Tensor, dict]:
        """Training-time change of the reference (identity here)."""
        return ref, lengths, {}

    def compare(
        self,
        ref_feats: torch.Tensor,
        ref_flens: torch.Tensor,
        inf_feats: torch.Tensor,
        inf_flens: torch.Tensor,
        info: dict,
    ) -> torch.Tensor:
        raise NotImplementedError

    # ------------------------------------------------------------------------
    def forward(
        self,
        ref: torch.Tensor,
        inf: torch.Tensor,
        lengths: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Loss per utterance.

        Args:
            ref: (B, T) clean reference, zero-padded.
            inf: (B, T) estimate, zero-padded.
            lengths: (B,) samples per utterance, or None (see module doc).
        Returns:
            (B,) loss.
        """
        if ref.dim() != 2 or ref.shape != inf.shape:
            raise ValueError(
                f"{self.name}: expected ref and inf of the same shape (B, T), "
                f"got {tuple(ref.shape)} and {tuple(inf.shape)}"
            )
        lengths = resolve_lengths(ref, lengths)
        up = self.upstream(inf.device)
        with torch.no_grad():
            ref_in, ref_lengths, info = self.perturb_reference(ref, lengths, up)
            ref_feats, ref_flens = self.features(up, ref_in.to(inf.dtype), ref_lengths)
        inf_feats, inf_flens = self.features(up, inf, lengths)
        return self.compare(ref_feats, ref_flens, inf_feats, inf_flens, info)


class SSLMSELoss(SSLRepresentationLoss):
    """``ssl_mse``: frame-wise MSE between SSL features of ``inf`` and ``ref``."""

    default_name = "ssl_mse"

    def compare(self, ref_feats, ref_flens, inf_feats, inf_flens, info):
        return _masked_frame_mse(inf_feats, ref_feats, inf_flens)


class SSLMSEPadLoss(SSLRepresentationLoss):
    """``ssl_mse_pad``: MSE after random hop-aligned zero-padding of ``ref``.

    In training mode the reference of each utterance is zero-padded by
    ``k = max(1, round(p * length / hop))`` whole hops, ``p`` drawn uniformly
    from ``pad_range``, at ``pad_where`` (``start``, ``end`` or ``both``).
    Because the padding is a whole number of hops, frame ``j + k_start`` of
    the padded reference covers the same samples as frame ``j`` of the
    unpadded one; the padding frames are dropped and the rest are compared
    with the estimate's frames by MSE, but the encoder saw them at other
    absolute positions.  In eval mode it equals ``ssl_mse``.

    Args:
        pad_range: (low, high) fraction of the utterance length.
        pad_where: ``start`` (default), ``end`` or ``both`` (split in two).
        (others: see :class:`SSLRepresentationLoss`)
    """

    default_name = "ssl_mse_pad"

    def __init__(
        self,
        pad_range: Sequence[float] = (0.02, 0.05),
        pad_where: str = "start",
        **kwargs,
    ):
        super().__init__(**kwargs)
        pad_range = tuple(float(p) for p in pad_range)
        if len(pad_range) != 2 or not 0.0 <= pad_range[0] <= pad_range[1]:
            raise ValueError(
                f"pad_range must be (low, high) with 0 <= low <= high, got {pad_range}"
            )
        if pad_where not in ("start", "end", "both"):
            raise ValueError(
                f"pad_where must be 'start', 'end' or 'both', got {pad_where!r}"
            )
        self.pad_range = pad_range
        self.pad_where = pad_where

    def perturb_reference(self, ref, lengths, up):
        if not self.training:
            return ref, lengths, {}
        low, high = self.pad_range
        p = low + (high - low) * torch.rand(lengths.shape, dtype=torch.float64)
        hops = torch.round(p * lengths.cpu().double() / up.hop_length).long()
        hops = hops.clamp(min=1).to(lengths.device)
        if self.pad_where == "start":
            head, tail = hops, torch.zeros_like(hops)
        elif self.pad_where == "end":
            head, tail = torch.zeros_like(hops), hops
        else:  # both: whole hops on each side, so frames stay aligned
            head = hops // 2
            tail = hops - head
        padded, padded_lengths = ref, lengths
        for where, n in (("start", head), ("end", tail)):
            if bool((n > 0).any()):
                padded, padded_lengths = zero_pad(
                    padded, padded_lengths, n * up.hop_length, where=where
                )
        return padded, padded_lengths, {"head": head, "tail": tail}

    def compare(self, ref_feats, ref_flens, inf_feats, inf_flens, info):
        if info:
            # frames of content start `head` frames later in the padded reference
            F = inf_feats.size(1)
            head = info["head"].to(ref_feats.device)
            idx = head[:, None] + torch.arange(F, device=ref_feats.device)[None, :]
            idx = idx.clamp(max=ref_feats.size(1) - 1)
            ref_feats = torch.gather(
                ref_feats, 1, idx[:, :, None].expand(-1, -1, ref_feats.size(-1))
            )
        return _masked_frame_mse(inf_feats, ref_feats, inf_flens)


class SSLSoftDTWLoss(SSLRepresentationLoss):
    """``ssl_sdtw``: soft-DTW between SSL features, speed-perturbed reference.

    In training mode the reference of each utterance is resampled by a
    factor drawn uniformly from ``speed_factors`` (1.1 = 10% faster, i.e.
    shorter); each sequence keeps its own frame count and soft-DTW aligns
    them by content.  In eval mode there is no perturbation.

    Args:
        speed_factors: factors to draw from, per utterance.
        gamma: soft-min temperature.
        normalize: use the soft-DTW divergence
            ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2`` (0 for identical
            inputs, non-negative); False gives raw soft-DTW.
        bandwidth: Sakoe-Chiba band of :func:`espnet2_ext.ops.soft_dtw.soft_dtw`.
        length_normalize: divide each utterance's value by ``N + M``.
        l2_normalize: default True (frame cost is then ``2 - 2 cos``).
        backend: soft-DTW backend (``auto`` picks CPU/CUDA by device).
        (others: see :class:`SSLRepresentationLoss`)
    """

    default_name = "ssl_sdtw"

    def __init__(
        self,
        speed_factors: Sequence[float] = (0.9, 1.0, 1.1),
        gamma: float = 0.1,
        normalize: bool = True,
        bandwidth: Optional[float] = None,
        length_normalize: bool = False,
        l2_normalize: bool = True,
        backend: str = "auto",
        **kwargs,
    ):
        super().__init__(l2_normalize=l2_normalize, **kwargs)
        factors = [float(f) for f in speed_factors]
        if not factors or min(factors) <= 0:
            raise ValueError(
                f"speed_factors must be a non-empty list of positive numbers, "
                f"got {list(speed_factors)}"
            )
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        self.speed_factors = factors
        self.gamma = float(gamma)
        self.normalize = bool(normalize)
        self.bandwidth = bandwidth
        self.length_normalize = bool(length_normalize)
        self.backend = backend

    def perturb_reference(self, ref, lengths, up):
        if not self.training or self.speed_factors == [1.0]:
            return ref, lengths, {}
        choice = torch.randint(len(self.speed_factors), lengths.shape)
        factors = torch.tensor(self.speed_factors, dtype=torch.float64)[choice]
        # never shorten an utterance below what the encoder accepts
        shortened = torch.floor(lengths.cpu().double() / factors)
        factors[shortened < up.min_samples] = 1.0
        out, out_lengths = speed_perturb(
            ref, lengths, factors.to(ref.device), sample_rate=up.sample_rate
        )
        return out, out_lengths, {"factors": factors}

    def compare(self, ref_feats, ref_flens, inf_feats, inf_flens, info):
        opts = dict(gamma=self.gamma, bandwidth=self.bandwidth, backend=self.backend)
        if not self.normalize or ref_feats.requires_grad:
            loss = soft_dtw(inf_feats, ref_feats, inf_flens, ref_flens, normalize=self.normalize, **opts)
        else:
            # divergence sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2, with the
            # reference's self term (no gradient: y comes from no_grad) run
            # forward only: no autograd node, nothing kept for a backward
            loss = soft_dtw(inf_feats, ref_feats, inf_flens, ref_flens, **opts)
            loss = loss - 0.5 * soft_dtw(inf_feats, inf_feats, inf_flens, inf_flens, **opts)
            with torch.no_grad():
                yy = soft_dtw(ref_feats, ref_feats, ref_flens, ref_flens, **opts)
            loss = loss - 0.5 * yy
        if self.length_normalize:
            loss = loss / (inf_flens + ref_flens).to(loss.dtype)
        return loss
