"""Layer selection and post-processing of hidden states (pure functions).

Hidden-state indexing, for every upstream: index 0 is the input of the first
transformer block, index ``i`` (1..``num_layers``) the output of block ``i``.
"""

from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

LayerSpec = Union[str, int, Sequence[int]]


def parse_layers(layers: LayerSpec, num_layers: int) -> List[int]:
    """Resolve a layer choice into hidden-state indices in ``0..num_layers``.

    ``"last"`` -> ``[num_layers]``; ``"all"`` -> every hidden state; an int or a
    non-empty list of ints (averaged by :func:`combine_layers`); negative ints
    count from the end (-1 == last).  Raises ``ValueError`` naming the bad value.
    """
    n = int(num_layers) + 1  # hidden states incl. layer 0
    if isinstance(layers, str):
        if layers == "last":
            return [n - 1]
        if layers == "all":
            return list(range(n))
        raise ValueError(f"layers must be 'last', 'all', an int or a list of ints; got {layers!r}")
    items = [layers] if isinstance(layers, int) else list(layers)
    if not items:
        raise ValueError("layers must not be empty")
    out = []
    for i in items:
        if isinstance(i, bool) or not isinstance(i, int):
            raise ValueError(f"layer indices must be ints, got {i!r}")
        if not -n <= i < n:
            raise ValueError(
                f"layer index {i} out of range for a model with {n - 1} transformer layers "
                f"(valid: 0..{n - 1}, 0 = transformer input, or negative)"
            )
        out.append(i % n)
    return out


def combine_layers(
    hidden: Sequence[torch.Tensor],
    layers: Sequence[int],
    l2_normalize: bool = False,
    pad: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Average the selected hidden states (each (B, F, D)); optionally L2-normalise each frame.

    ``pad`` (B, F), True on padding frames, keeps those frames exactly 0
    after the normalisation.  Returns (B, F, D).
    """
    if len(layers) == 1:
        feats = hidden[layers[0]]
    else:
        feats = torch.stack([hidden[i] for i in layers], dim=0).mean(dim=0)
    if l2_normalize:
        feats = F.normalize(feats, p=2.0, dim=-1)
        if pad is not None:
            feats = feats.masked_fill(pad[..., None], 0.0)
    return feats
