"""``gpit``: guided permutation-invariant training.

ESPnet's ``pit`` evaluates its criterion for every speaker of every
permutation (N!·N calls: 4 for two speakers, 18 for three).  With an
expensive criterion (a frozen SSL encoder per call) that dominates training.
Guided PIT lets a cheap *guide* criterion (SI-SNR by default) choose the
permutation and then runs the main criterion once per speaker:

1. the guide fills a pairwise matrix ``G[b, s, t] = guide(ref[s], inf[t])[b]``
   (N·N guide calls, no gradient);
2. per utterance, the permutation minimising ``sum_s G[b, s, perm[s]]`` is
   taken (the N! sums are over the matrix only, no criterion calls);
3. the main criterion runs on ``(ref[s], inf[perm[b, s]])`` for s = 1..N.

``others["perm"]`` is returned as ESPnet's wrappers do (``perm[b, s]`` is the
estimate assigned to reference ``s``), and the guide's value at the chosen
permutation is reported in the stats as ``<guide>_guide`` (e.g. ``si_snr_guide``).

The assignment in step 2 is exhaustive over the N! permutations of the
matrix for N <= 3 (batched, on the signals' device) and a linear assignment
(Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``) per utterance
for N >= 4, where N! grows too fast; both return a minimum-cost permutation.

Like ESPnet's ``pit``, ``independent_perm: false`` makes the wrapper take the
permutation an earlier wrapper of the same model returned in
``others["perm"]`` (e.g. a ``pit`` over SI-SNR listed before it) instead of
asking the guide; the default (true) always asks the guide, because
ESPnet's ``fixed_order`` also returns a (identity) ``perm``.
"""

from collections import defaultdict
from itertools import permutations
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from espnet2.enh.loss.criterions.abs_loss import AbsEnhLoss
from espnet2.enh.loss.wrappers.abs_wrapper import AbsLossWrapper


def pairwise_loss(criterion, ref: List[torch.Tensor], inf: List[torch.Tensor]):
    """(B, N_ref, N_inf) matrix of ``criterion(ref[s], inf[t])``."""
    return torch.stack(
        [torch.stack([criterion(r, i) for i in inf], dim=-1) for r in ref], dim=1
    )


#: Largest speaker count solved by enumerating the N! permutations.
MAX_EXHAUSTIVE_SPK = 3


def best_permutation(pair: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Minimum-cost assignment from a pairwise matrix.

    Args:
        pair: (B, N, N) cost of assigning estimate t to reference s.
    Returns:
        perm (B, N) long, ``perm[b, s]`` the estimate of reference s;
        cost (B,) mean cost over speakers at that permutation.
    """
    if pair.dim() != 3 or pair.size(1) != pair.size(2):
        raise ValueError(f"gpit: expected a (B, N, N) cost matrix, got {tuple(pair.shape)}")
    B, N, _ = pair.shape
    if N > MAX_EXHAUSTIVE_SPK:
        return _linear_assignment(pair)
    perms = torch.tensor(list(permutations(range(N))), device=pair.device)  # (P, N)
    spk = torch.arange(N, device=pair.device)
    # costs[b, p] = sum_s pair[b, s, perms[p, s]]
    costs = pair[:, spk[None, :], perms].sum(-1)  # (B, P)
    cost, idx = costs.min(dim=1)
    return perms[idx], cost / N


def _linear_assignment(pair: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """:func:`best_permutation` by the Hungarian algorithm, one utterance at a time."""
    from scipy.optimize import linear_sum_assignment

    B, N, _ = pair.shape
    costs = pair.detach().double().cpu().numpy()
    if not np.isfinite(costs).all():
        # scipy refuses non-finite costs; such an utterance's loss is reported
        # as non-finite by the main criterion anyway
        costs = np.nan_to_num(costs, nan=np.inf, posinf=1e300, neginf=-1e300)
        costs[~np.isfinite(costs)] = 1e300
    perm = np.empty((B, N), dtype=np.int64)
    for b in range(B):
        rows, cols = linear_sum_assignment(costs[b])
        perm[b, rows] = cols
    perm_t = torch.from_numpy(perm).to(pair.device)
    spk = torch.arange(N, device=pair.device)
    cost = pair[torch.arange(B, device=pair.device)[:, None], spk[None, :], perm_t].sum(-1)
    return perm_t, cost / N


def _criterion_class(name: str):
    from espnet2.tasks.enh import criterion_choices

    return criterion_choices.get_class(name)


class GuidedPITSolver(AbsLossWrapper):
    """Guided PIT wrapper (see module doc).

    Args:
        criterion: the main (expensive) criterion.
        weight: weight of this loss in ESPnet's sum of losses.
        guide: name of a registered enhancement criterion used to pick the
            permutation (cheap, e.g. ``si_snr``, ``snr``, ``mse_td``); lower
            must be better, as for every ESPnet criterion.
        guide_conf: keyword arguments of the guide criterion.
        independent_perm: True (default): the guide always picks the
            permutation.  False: an ``others["perm"]`` given by an earlier
            wrapper is used as it is (no guide call), as ESPnet's ``pit``
            does with ``independent_perm: false``.
    """

    def __init__(
        self,
        criterion: AbsEnhLoss,
        weight: float = 1.0,
        guide: str = "si_snr",
        guide_conf: Optional[Dict] = None,
        independent_perm: bool = True,
    ):
        super().__init__()
        self.criterion = criterion
        self.weight = weight
        self.guide_name = guide
        self.guide = _criterion_class(guide)(**(guide_conf or {}))
        self.independent_perm = bool(independent_perm)

    def forward(
        self, ref: List[torch.Tensor], inf: List[torch.Tensor], others: Dict = {}
    ) -> Tuple[torch.Tensor, Dict, Dict]:
        """Guided-PIT loss.

        Args:
            ref: [(B, T), ...] x N references.
            inf: [(B, T), ...] x N estimates.
            others: ESPnet's extra outputs; ``others["perm"]`` (B, N) is
                used when ``independent_perm`` is False.
        Returns:
            loss (scalar), stats (dict), {"perm": (B, N) long}.
        """
        if len(ref) != len(inf):
            raise ValueError(
                f"gpit: {len(ref)} references but {len(inf)} estimates"
            )
        N = len(ref)
        given = None if self.independent_perm else others.get("perm")
        guide_cost = None
        if given is not None:
            perm = torch.as_tensor(given).long()
            if perm.shape != (ref[0].size(0), N):
                raise ValueError(
                    f"gpit: others['perm'] of shape {tuple(perm.shape)} does not fit "
                    f"a batch of {ref[0].size(0)} with {N} speakers"
                )
        else:
            with torch.no_grad():
                pair = pairwise_loss(self.guide, ref, inf)
                perm, guide_cost = best_permutation(pair)

        est = torch.stack(inf, dim=1)  # (B, N, T)
        batch = torch.arange(est.size(0), device=est.device)
        stats = defaultdict(list)
        loss = 0.0
        for s in range(N):
            per_utt = self.criterion(ref[s], est[batch, perm[:, s].to(est.device)])
            loss = loss + per_utt.mean() / N
            for k, v in getattr(self.criterion, "stats", {}).items():
                stats[k].append(v)
        stats = {k: torch.stack(v).mean() for k, v in stats.items()}
        stats[self.criterion.name] = loss.detach()
        if guide_cost is not None:
            stats[f"{self.guide_name}_guide"] = guide_cost.mean().detach()
        return loss, stats, {"perm": perm}
