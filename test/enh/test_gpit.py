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


def test_gradient_is_the_main_criterions_at_the_chosen_permutation():
    # the guide (SI-SNR) runs without gradient: each estimate's gradient is
    # exactly that of the main criterion (MSE) against the reference it was
    # assigned, d/dx mean_b,s mean_t (r - x)^2 = 2 (x - r) / (T * B * N)
    B, N, T = 3, 2, 4000
    ref = sources(B, N)
    true = [[1, 0], [0, 1], [1, 0]]
    base = [torch.stack([ref[true[b].index(t)][b] for b in range(B)]) for t in range(N)]
    inf = [(x + 0.05 * torch.randn_like(x)).requires_grad_(True) for x in base]
    loss, _, others = GuidedPITSolver(CountingMSE())(ref, inf, {})
    assert others["perm"].tolist() == true
    loss.backward()
    for t in range(N):
        expected = torch.stack(
            [2 * (inf[t][b] - ref[true[b].index(t)][b]) / (T * B * N) for b in range(B)]
        ).detach()
        assert torch.allclose(inf[t].grad, expected, rtol=1e-5, atol=1e-12)


def _cost_matrix(B, N, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, N, N, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("N", [4, 5, 6])
def test_linear_assignment_for_many_speakers_is_optimal(N):
    pair = _cost_matrix(8, N, seed=N)
    perm, cost = best_permutation(pair)
    assert perm.shape == (8, N)
    for b in range(8):
        assert sorted(perm[b].tolist()) == list(range(N))
        brute = min(
            sum(pair[b, s, p[s]].item() for s in range(N))
            for p in itertools.permutations(range(N))
        )
        assert cost[b].item() * N == pytest.approx(brute, rel=1e-12)


def test_many_speakers_do_not_enumerate_permutations(monkeypatch):
    import espnet2_ext.enh.loss.wrappers.gpit as gpit

    def no_enumeration(*a, **k):
        raise AssertionError("itertools.permutations called for N >= 4")

    monkeypatch.setattr(gpit, "permutations", no_enumeration)
    perm, _ = best_permutation(_cost_matrix(2, 8))
    assert perm.shape == (2, 8)


def test_exhaustive_and_linear_assignment_agree():
    import espnet2_ext.enh.loss.wrappers.gpit as gpit

    pair = _cost_matrix(16, 3, seed=1)
    p1, c1 = best_permutation(pair)
    p2, c2 = gpit._linear_assignment(pair)
    assert torch.equal(p1, p2) and torch.allclose(c1, c2)


def test_four_speakers_end_to_end():
    N, B = 4, 3
    ref = sources(B, N)
    true = [[2, 0, 3, 1], [1, 2, 3, 0], [0, 1, 2, 3]]
    inf = [torch.stack([ref[true[b].index(t)][b] for b in range(B)]) for t in range(N)]
    crit = CountingMSE()
    loss, _, others = GuidedPITSolver(crit)(ref, inf, {})
    assert others["perm"].tolist() == true and crit.calls == N
    assert loss.item() == pytest.approx(0.0, abs=1e-12)


def test_permutation_of_an_earlier_wrapper_is_used_when_not_independent():
    B, N = 2, 2
    ref = sources(B, N)
    inf = [r.clone() for r in ref]
    given = torch.tensor([[1, 0], [1, 0]])  # deliberately not the best one
    crit = CountingMSE()
    guide_calls = []
    w = GuidedPITSolver(crit, independent_perm=False)
    w.guide.forward = lambda *a, **k: guide_calls.append(1)  # must not be asked
    loss, stats, others = w(ref, inf, {"perm": given})
    assert torch.equal(others["perm"], given) and not guide_calls
    expected = sum(((ref[s][b] - inf[given[b, s]][b]) ** 2).mean() for s in range(N) for b in range(B)) / (N * B)
    assert torch.allclose(loss, expected)
    assert "si_snr_guide" not in stats
    # default: like ESPnet's pit, an earlier perm (e.g. fixed_order's identity) is ignored
    _, _, o = GuidedPITSolver(CountingMSE())(ref, inf, {"perm": given})
    assert o["perm"].tolist() == [[0, 1], [0, 1]]
    # without an earlier perm the guide decides
    _, _, o = GuidedPITSolver(CountingMSE(), independent_perm=False)(ref, inf, {})
    assert o["perm"].tolist() == [[0, 1], [0, 1]]


def test_given_permutation_of_the_wrong_shape():
    ref = sources(2, 2)
    with pytest.raises(ValueError, match="perm"):
        GuidedPITSolver(CountingMSE(), independent_perm=False)(ref, ref, {"perm": torch.zeros(3, 2)})


def test_guide_must_be_registered():
    with pytest.raises(ValueError, match="criterions"):
        GuidedPITSolver(CountingMSE(), guide="no_such_loss")


def test_mismatched_lists():
    with pytest.raises(ValueError, match="gpit"):
        GuidedPITSolver(CountingMSE())(sources(1, 2), sources(1, 3), {})
