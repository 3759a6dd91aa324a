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
"""

from collections import defaultdict
from itertools import permutations
from typing import Dict, List, Optional, Tuple

import torch
from espnet2.enh.loss.criterions.abs_loss import AbsEnhLoss
from espnet2.enh.loss.wrappers.abs_wrapper import AbsLossWrapper


def pairwise_loss(criterion, ref: List[torch.Tensor], inf: List[torch.Tensor]):
    """(B, N_ref, N_inf) matrix of ``criterion(ref[s], inf[t])``."""
    return torch.stack(
        [torch.stack([criterion(r, i) for i in inf], dim=-1) for r in ref], dim=1
    )


def best_permutation(pair: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Minimum-cost assignment from a pairwise matrix.

    Args:
        pair: (B, N, N) cost of assigning estimate t to reference s.
    Returns:
        perm (B, N) long, ``perm[b, s]`` the estimate of reference s;
        cost (B,) mean cost over speakers at that permutation.
    """
    B, N, _ = pair.shape
    perms = torch.tensor(list(permutations(range(N))), device=pair.device)  # (P, N)
    spk = torch.arange(N, device=pair.device)
    # costs[b, p] = sum_s pair[b, s, perms[p, s]]
    costs = pair[:, spk[None, :], perms].sum(-1)  # (B, P)
    cost, idx = costs.min(dim=1)
    return perms[idx], cost / N


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
    """

    def __init__(
        self,
        criterion: AbsEnhLoss,
        weight: float = 1.0,
        guide: str = "si_snr",
        guide_conf: Optional[Dict] = None,
    ):
        super().__init__()
        self.criterion = criterion
        self.weight = weight
        self.guide_name = guide
        self.guide = _criterion_class(guide)(**(guide_conf or {}))

    def forward(
        self, ref: List[torch.Tensor], inf: List[torch.Tensor], others: Dict = {}
    ) -> Tuple[torch.Tensor, Dict, Dict]:
        """Guided-PIT loss.

        Args:
            ref: [(B, T), ...] x N references.
            inf: [(B, T), ...] x N estimates.
            others: ESPnet's extra outputs (unused).
        Returns:
            loss (scalar), stats (dict), {"perm": (B, N) long}.
        """
        if len(ref) != len(inf):
            raise ValueError(
                f"gpit: {len(ref)} references but {len(inf)} estimates"
            )
        N = len(ref)
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
        stats[f"{self.guide_name}_guide"] = guide_cost.mean().detach()
        return loss, stats, {"perm": perm}
