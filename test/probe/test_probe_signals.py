"""Probe signals on small cases checked by hand."""

import math

import pytest
import torch

from espnet2_ext.probe import signals


def test_place_pads_whole_hops_and_keeps_frames():
    x = torch.arange(1, 801, dtype=torch.float32)
    y = signals.place(x, 2, 1, 320)
    assert y.shape == (800 + 3 * 320,)
    assert torch.all(y[:640] == 0) and torch.equal(y[640:1440], x) and torch.all(y[1440:] == 0)
    # frame j + 2 of y (400 samples, hop 320) covers the samples of frame j of x
    fx, fy = x.unfold(0, 400, 320), y.unfold(0, 400, 320)
    assert torch.equal(fy[2 : 2 + fx.shape[0]], fx)
    assert torch.equal(signals.place(x, 0, 0, 320), x)


def test_fit_length_cuts_or_pads_at_the_end():
    x = torch.tensor([1.0, 2.0, 3.0])
    assert signals.fit_length(x, 2).tolist() == [1.0, 2.0]
    assert signals.fit_length(x, 5).tolist() == [1.0, 2.0, 3.0, 0.0, 0.0]


def test_energy_envelope_by_hand():
    assert torch.allclose(signals.energy_envelope(torch.full((1000,), -0.5)), torch.full((1000,), 0.5), atol=1e-6)
    # a square-wave of amplitude a has RMS a over any window
    sq = 0.3 * torch.tensor([1.0, -1.0]).repeat(800)
    assert torch.allclose(signals.energy_envelope(sq), torch.full((1600,), 0.3), atol=1e-6)
    # silence then a constant 2: 0 well before the step, 2 well after, linear in between
    step = torch.cat([torch.zeros(1600), torch.full((1600,), 2.0)])
    env = signals.energy_envelope(step, win=320, hop=160)
    assert torch.all(env[:1600 - 160 - 160] == 0)
    assert torch.allclose(env[1600 + 320 :], torch.full((1600 - 320,), 2.0))
    assert 0 < env[1600] < 2


def test_envelope_noise_keeps_length_and_energy_and_is_seeded():
    t = torch.arange(32000, dtype=torch.float32) / 16000
    x = 0.2 * torch.sin(2 * math.pi * 200 * t) * (t > 1.0)  # silent first second
    a = signals.envelope_noise(x, torch.Generator().manual_seed(3))
    b = signals.envelope_noise(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    assert torch.all(a[: 16000 - 400] == 0)
    rms_second = a[16400:].pow(2).mean().sqrt()
    assert rms_second == pytest.approx(0.2 / math.sqrt(2), rel=0.03)


def test_white_noise_has_the_exact_rms():
    n = signals.white_noise(5000, 0.07, torch.Generator().manual_seed(0))
    assert n.shape == (5000,) and n.pow(2).mean().sqrt() == pytest.approx(0.07, rel=1e-5)
    assert signals.rms(torch.tensor([3.0, -3.0])) == pytest.approx(3.0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="1-D"):
        signals.place(torch.zeros(2, 100), 1, 0, 320)
    with pytest.raises(ValueError, match="hops"):
        signals.place(torch.zeros(100), -1, 0, 320)
