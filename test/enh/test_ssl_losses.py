"""ssl_mse, ssl_mse_pad, ssl_sdtw (tiny upstream, CPU)."""

import math

import pytest
import torch

import espnet2_ext  # noqa: F401
from espnet2_ext.enh.loss.criterions import ssl as ssl_mod
from espnet2_ext.enh.loss.criterions.ssl import (
    SSLMSELoss,
    SSLMSEPadLoss,
    SSLSoftDTWLoss,
)

ALL = [SSLMSELoss, SSLMSEPadLoss, SSLSoftDTWLoss]
HOP = 320


def speechlike(B=2, T=12000, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(T) / 16000.0
    f0 = 100 + 100 * torch.rand(B, 1, generator=g)
    x = sum(torch.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 6))
    env = 0.5 * (1 + torch.sin(2 * math.pi * 4 * t + 6 * torch.rand(B, 1, generator=g)))
    return 0.3 * x * env


@pytest.mark.parametrize("cls", ALL)
def test_identical_input_in_eval_gives_zero(cls):
    crit = cls().eval()
    ref = speechlike()
    loss = crit(ref, ref.clone())
    assert loss.shape == (2,)
    assert torch.allclose(loss, torch.zeros(2), atol=1e-5), loss


@pytest.mark.parametrize("cls", ALL)
def test_monotonic_in_snr(cls):
    crit = cls().eval()
    ref = speechlike(B=1)
    noise = torch.randn(ref.shape, generator=torch.Generator().manual_seed(1))
    losses = []
    for snr in (30, 20, 10, 0, -10):
        scale = ref.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt() / 10 ** (snr / 20)
        losses.append(float(crit(ref, ref + scale * noise)))
    assert all(a < b for a, b in zip(losses, losses[1:])), losses


@pytest.mark.parametrize("cls", ALL)
def test_gradient_reaches_estimate_not_encoder(cls):
    crit = cls().train()
    ref = speechlike()
    inf = (ref + 0.1 * torch.randn_like(ref)).requires_grad_(True)
    crit(ref, inf).sum().backward()
    assert inf.grad is not None and inf.grad.abs().sum() > 0
    up = crit.upstream(inf.device)
    assert all(p.grad is None and not p.requires_grad for p in up.parameters())
    # the encoder is not part of the criterion's module tree
    assert list(crit.parameters()) == []
    assert crit.state_dict() == {}


@pytest.mark.parametrize("cls", ALL)
def test_padding_invariance(cls):
    """An utterance's loss does not depend on its batch-mates."""
    crit = cls().eval()
    ref = speechlike(B=2, T=16000)
    inf = ref + 0.05 * torch.randn_like(ref)
    n = 9000
    ref[0, n:] = 0
    inf[0, n:] = 0
    batch = crit(ref, inf, torch.tensor([n, 16000]))
    alone = crit(ref[:1, :n], inf[:1, :n])
    assert torch.allclose(batch[0], alone[0], rtol=1e-4, atol=1e-6), (batch, alone)


def test_pad_eval_equals_mse():
    ref = speechlike()
    inf = ref + 0.05 * torch.randn_like(ref)
    a = SSLMSELoss().eval()(ref, inf)
    b = SSLMSEPadLoss().eval()(ref, inf)
    assert torch.allclose(a, b)


@pytest.mark.parametrize("where", ["start", "end", "both"])
def test_training_padding_really_happens(monkeypatch, where):
    calls = []
    real = ssl_mod.zero_pad

    def spy(wav, lengths, pad, where="start"):
        calls.append((lengths.clone(), pad.clone(), where))
        return real(wav, lengths, pad, where=where)

    monkeypatch.setattr(ssl_mod, "zero_pad", spy)
    crit = SSLMSEPadLoss(pad_range=(0.1, 0.2), pad_where=where).train()
    ref = speechlike(T=16000)
    loss = crit(ref, ref.clone())
    sides = {w for _, _, w in calls}
    assert sides == ({"start", "end"} if where == "both" else {where})
    lengths = calls[0][0]
    pad = sum(p for _, p, _ in calls)
    for _, p, _ in calls:
        assert bool((p % HOP == 0).all())  # whole hops on each side
    assert bool((pad > 0).all())
    frac = pad.double() / lengths.double()
    assert bool((frac > 0.1 - HOP / 16000).all() and (frac < 0.2 + HOP / 16000).all())
    # content matches, absolute positions differ: not zero, but small
    assert bool((loss > 0).all())
    mse_far = SSLMSELoss().eval()(ref, torch.roll(ref, 4000, dims=1))
    assert bool((loss < mse_far).all())


def test_training_speed_perturbation_really_happens(monkeypatch):
    calls = []
    real = ssl_mod.speed_perturb

    def spy(wav, lengths, factors, sample_rate=16000):
        out = real(wav, lengths, factors, sample_rate=sample_rate)
        calls.append((factors.clone(), lengths.clone(), out[1].clone()))
        return out

    monkeypatch.setattr(ssl_mod, "speed_perturb", spy)
    crit = SSLSoftDTWLoss(speed_factors=[0.9, 1.1]).train()
    ref = speechlike(B=4, T=16000)
    loss = crit(ref, ref.clone())
    factors, lengths, new_lengths = calls[0]
    assert set(factors.tolist()) <= {0.9, 1.1}
    expected = (lengths.double() / factors).round()
    assert torch.allclose(new_lengths.double(), expected, atol=2)
    assert bool((loss > 0).all())
    # eval: no perturbation at all
    calls.clear()
    crit.eval()(ref, ref.clone())
    assert calls == []


def test_sdtw_aligns_by_content_better_than_mse():
    """A 1-hop delay costs ssl_mse more (relative to a content change) than ssl_sdtw."""
    ref = speechlike(B=1, T=16000)
    delayed = torch.nn.functional.pad(ref, (HOP, 0))[:, :16000]
    noisy = ref + 0.3 * torch.randn_like(ref)
    mse, sdtw = SSLMSELoss().eval(), SSLSoftDTWLoss().eval()
    assert sdtw(ref, delayed) / sdtw(ref, noisy) < mse(ref, delayed) / mse(ref, noisy)


def test_length_normalize_and_raw():
    ref = speechlike()
    inf = ref + 0.1 * torch.randn_like(ref)
    raw = SSLSoftDTWLoss(normalize=False).eval()(ref, inf)
    div = SSLSoftDTWLoss().eval()(ref, inf)
    per_frame = SSLSoftDTWLoss(length_normalize=True).eval()(ref, inf)
    frames = (12000 - 400) // HOP + 1
    assert torch.allclose(per_frame, div / (2 * frames), rtol=1e-5)
    assert not torch.allclose(raw, div)


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (SSLMSEPadLoss, {"pad_range": (0.3, 0.1)}, "pad_range"),
        (SSLMSEPadLoss, {"pad_where": "middle"}, "pad_where"),
        (SSLSoftDTWLoss, {"speed_factors": [0.0, 1.0]}, "speed_factors"),
        (SSLSoftDTWLoss, {"gamma": 0}, "gamma"),
    ],
)
def test_bad_configuration(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_bad_shapes():
    with pytest.raises(ValueError, match="same shape"):
        SSLMSELoss()(torch.zeros(2, 8000), torch.zeros(2, 7000))


def test_upstream_is_lazy_and_shared():
    """One encoder per source and device: layers and l2_normalize are post-processing."""
    before = len(ssl_mod._UPSTREAMS)
    a = SSLMSELoss(upstream="tiny", upstream_conf={"seed": 99})
    b = SSLSoftDTWLoss(upstream="tiny", upstream_conf={"seed": 99}, l2_normalize=False)
    c = SSLSoftDTWLoss(upstream="tiny", upstream_conf={"seed": 99})  # l2_normalize=True
    d = SSLMSELoss(upstream="tiny", upstream_conf={"seed": 99}, layers=[1, 2])
    assert len(ssl_mod._UPSTREAMS) == before  # lazy: nothing built yet
    cpu = torch.device("cpu")
    up = a.upstream(cpu)
    assert b.upstream(cpu) is up and c.upstream(cpu) is up and d.upstream(cpu) is up
    assert len(ssl_mod._UPSTREAMS) == before + 1
    # another source is another encoder
    assert SSLMSELoss(upstream="tiny", upstream_conf={"seed": 98}).upstream(cpu) is not up


def test_shared_encoder_gives_each_criterion_its_own_view():
    """Through the shared encoder, each criterion sees exactly the features of an upstream built
    with its own layers / l2_normalize."""
    from espnet2_ext.ssl import SSLUpstream

    ref = speechlike(T=12000)
    inf = ref + 0.1 * torch.randn(ref.shape, generator=torch.Generator().manual_seed(3))
    lengths = torch.tensor([12000, 9000])
    conf = {"upstream": "tiny", "upstream_conf": {"seed": 97}}
    for cls, kw in ((SSLMSELoss, {"layers": 1}), (SSLMSELoss, {"layers": [0, 3], "l2_normalize": True}),
                    (SSLSoftDTWLoss, {}), (SSLSoftDTWLoss, {"layers": 2, "l2_normalize": False})):
        crit = cls(**conf, **kw).eval()
        got = crit(ref, inf, lengths)
        own = SSLUpstream("tiny", seed=97, layers=kw.get("layers", "last"),
                          l2_normalize=kw.get("l2_normalize", cls is SSLSoftDTWLoss))
        with torch.no_grad():
            rf, rl = own(ref, lengths)
        xf, xl = own(inf, lengths)
        torch.testing.assert_close(got, crit.compare(rf, rl, xf, xl, {}), rtol=1e-5, atol=1e-6)


def test_sdtw_divergence_value_and_gradient_unchanged():
    """The divergence with its reference self-term run forward-only equals soft_dtw(normalize=True),
    value and gradient."""
    from espnet2_ext.ops.soft_dtw import soft_dtw

    g = torch.Generator().manual_seed(5)
    x = torch.nn.functional.normalize(torch.randn(3, 20, 8, generator=g), dim=-1).requires_grad_(True)
    y = torch.nn.functional.normalize(torch.randn(3, 24, 8, generator=g), dim=-1)
    xl, yl = torch.tensor([20, 15, 9]), torch.tensor([24, 11, 17])
    crit = SSLSoftDTWLoss(gamma=0.1)
    ours = crit.compare(y, yl, x, xl, {})
    (gx_ours,) = torch.autograd.grad(ours.sum(), x)
    full = soft_dtw(x, y, xl, yl, gamma=0.1, normalize=True)
    (gx_full,) = torch.autograd.grad(full.sum(), x)
    torch.testing.assert_close(ours, full, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(gx_ours, gx_full, rtol=1e-6, atol=1e-7)
    # a differentiable reference keeps its gradient (full divergence path)
    y2 = y.clone().requires_grad_(True)
    (gy,) = torch.autograd.grad(crit.compare(y2, yl, x, xl, {}).sum(), y2)
    (gy_full,) = torch.autograd.grad(soft_dtw(x, y2, xl, yl, gamma=0.1, normalize=True).sum(), y2)
    torch.testing.assert_close(gy, gy_full, rtol=1e-6, atol=1e-7)


def test_upstream_conf_must_not_hold_criterion_options():
    for key in ("layers", "l2_normalize", "name"):
        with pytest.raises(ValueError, match=f"must not set '{key}'"):
            SSLMSELoss(upstream_conf={key: 1})
