"""Guided PIT: permutation from a cheap guide, main criterion once per speaker."""

import itertools
import math

import pytest
import torch
from espnet2.enh.loss.criterions.time_domain import SISNRLoss, TimeDomainLoss
from espnet2.enh.loss.wrappers.pit_solver import PITSolver

import espnet2_ext  # noqa: F401
from espnet2_ext.enh.loss.wrappers.gpit import GuidedPITSolver, best_permutation


class CountingMSE(TimeDomainLoss):
    def __init__(self):
        super().__init__("counting_mse")
        self.calls = 0

    def forward(self, ref, inf):
        self.calls += 1
        return ((ref - inf) ** 2).mean(-1)


def sources(B, N, T=4000, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(T) / 8000.0
    return [
        torch.sin(2 * math.pi * (150 + 90 * n + 40 * torch.rand(B, 1, generator=g)) * t)
        + 0.3 * torch.randn(B, T, generator=g)
        for n in range(N)
    ]


def test_best_permutation_from_matrix():
    pair = torch.tensor(
        [[[0.0, 5.0, 5.0], [5.0, 5.0, 0.0], [5.0, 0.0, 5.0]],
         [[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [3.0, 3.0, 1.0]]]
    )
    perm, cost = best_permutation(pair)
    assert perm.tolist() == [[0, 2, 1], [0, 1, 2]]
    assert torch.allclose(cost, torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("N", [2, 3])
def test_recovers_swapped_speakers_per_utterance(N):
    B = 4
    ref = sources(B, N)
    true = [list(p) for p in itertools.islice(itertools.cycle(
        itertools.permutations(range(N))), B)]
    # estimate t of utterance b is a noisy copy of reference true[b].index(t)
    inf = [torch.stack([ref[true[b].index(t)][b] for b in range(B)]) for t in range(N)]
    inf = [x + 0.05 * torch.randn_like(x) for x in inf]
    crit = CountingMSE()
    wrapper = GuidedPITSolver(crit, guide="si_snr")
    loss, stats, others = wrapper(ref, inf, {})
    assert others["perm"].tolist() == true
    assert crit.calls == N  # once per speaker
    assert "si_snr_guide" in stats and "counting_mse" in stats
    # the loss is the main criterion on the permuted pairs
    expected = sum(
        ((ref[s][b] - inf[true[b][s]][b]) ** 2).mean() for s in range(N) for b in range(B)
    ) / (N * B)
    assert torch.allclose(loss, expected)


@pytest.mark.parametrize("N", [2, 3])
def test_agrees_with_espnet_pit_over_si_snr_and_is_cheaper(N):
    ref = sources(6, N, seed=3)
    inf = [r[torch.randperm(6)] * 0.2 + r * 0.8 for r in ref]  # mixed-up estimates
    inf = [inf[i] for i in torch.randperm(N).tolist()]
    _, _, pit_o = PITSolver(SISNRLoss())(ref, inf, {})
    crit = CountingMSE()
    _, _, g_o = GuidedPITSolver(crit, guide="si_snr")(ref, inf, {})
    assert torch.equal(pit_o["perm"].cpu(), g_o["perm"].cpu())
    pit_crit = CountingMSE()
    PITSolver(pit_crit)(ref, inf, {})
    assert pit_crit.calls == math.factorial(N) * N
    assert crit.calls == N


def test_gradient_flows_through_main_criterion_only():
    ref = sources(2, 2)
    inf = [x.clone().requires_grad_(True) for x in sources(2, 2, seed=9)]
    loss, _, _ = GuidedPITSolver(CountingMSE())(ref, inf, {})
    loss.backward()
    assert all(x.grad is not None and x.grad.abs().sum() > 0 for x in inf)


def test_guide_must_be_registered():
    with pytest.raises(ValueError, match="criterions"):
        GuidedPITSolver(CountingMSE(), guide="no_such_loss")


def test_mismatched_lists():
    with pytest.raises(ValueError, match="gpit"):
        GuidedPITSolver(CountingMSE())(sources(1, 2), sources(1, 3), {})
