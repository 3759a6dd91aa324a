"""SUPERB-style ESPnet frontend: frozen SSL upstream + learnable weighted sum of layers.

This is the only module of :mod:`espnet2_ext.ssl` that imports ESPnet.  It is
registered in ESPnet's ``frontend_choices`` (as ``ssl_weighted_sum``) by the
package's plugin module, not here.
"""

import contextlib
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from espnet2.asr.frontend.abs_frontend import AbsFrontend

from espnet2_ext.ssl.layers import parse_layers
from espnet2_ext.ssl.presets import TINY
from espnet2_ext.ssl.upstream import SSLUpstream


def _parse_fs(fs: Union[int, str]) -> int:
    if isinstance(fs, str):
        import humanfriendly

        fs = humanfriendly.parse_size(fs)
    return int(fs)


class SSLWeightedSumFrontend(AbsFrontend):
    """Hidden states of an SSL model mixed with softmax-normalised learnable weights.

    ``feats = sum_l softmax(w)_l * h_l`` over the selected hidden states
    (SUPERB protocol).  Frames beyond ``feats_lengths`` are 0.

    Args:
        fs: input sampling rate (int or ESPnet size string like ``"16k"``);
            must be 16 kHz.
        upstream: :class:`~espnet2_ext.ssl.SSLUpstream` ``name``.
        upstream_conf: extra :class:`SSLUpstream` source options (``arch``,
            ``dl_kwargs``, ``seed``, ...).
        layers: hidden-state indices to mix; ``None`` = all ``num_layers + 1``
            (index 0 = transformer input, SUPERB's layer 0).
        freeze_upstream: keep the SSL model frozen (default); ``False``
            fine-tunes it together with the weights.
        layer_norm: apply a parameter-free layer norm to each hidden state
            before mixing (s3prl's ``normalize`` option); default False.
    """

    def __init__(
        self,
        fs: Union[int, str] = 16000,
        upstream: str = TINY,
        upstream_conf: Optional[Dict[str, Any]] = None,
        layers: Optional[Sequence[int]] = None,
        freeze_upstream: bool = True,
        layer_norm: bool = False,
    ):
        super().__init__()
        fs = _parse_fs(fs)
        conf = dict(upstream_conf or {})
        for reserved in ("layers", "l2_normalize", "sample_rate", "freeze"):
            if reserved in conf:
                raise ValueError(f"upstream_conf must not set {reserved!r} (the frontend controls it)")
        self.upstream = SSLUpstream(
            name=upstream, layers="last", sample_rate=fs, freeze=bool(freeze_upstream), **conf
        )
        n = self.upstream.num_layers + 1
        if layers is None:
            sel: List[int] = list(range(n))
        else:
            sel = parse_layers(list(layers), self.upstream.num_layers)
        self.layers = sel
        self.freeze_upstream = bool(freeze_upstream)
        self.layer_norm = bool(layer_norm)
        self.weights = torch.nn.Parameter(torch.zeros(len(sel)))

    def output_size(self) -> int:
        return self.upstream.feature_dim

    def layer_weights(self) -> torch.Tensor:
        """Current softmax-normalised layer weights (for logging/analysis)."""
        return F.softmax(self.weights, dim=0)

    def forward(self, input: torch.Tensor, input_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if input.dim() != 2:
            raise ValueError(f"SSLWeightedSumFrontend expects (batch, samples) input, got {tuple(input.shape)}")
        no_grad = self.freeze_upstream and not input.requires_grad
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            hidden, flen = self.upstream.extract_layers(input, input_lengths)
        stacked = torch.stack([hidden[i] for i in self.layers], dim=0)  # (L, B, F, D)
        if self.layer_norm:
            stacked = F.layer_norm(stacked, stacked.shape[-1:])
        w = F.softmax(self.weights, dim=0).to(stacked.dtype)
        feats = (w[:, None, None, None] * stacked).sum(dim=0)
        if self.layer_norm:  # layer norm turned zero padding into non-zero values
            valid = torch.arange(feats.shape[1], device=feats.device)[None, :] < flen[:, None]
            feats = feats.masked_fill(~valid[..., None], 0.0)
        return feats, flen
