import math

import pytest
import torch
import torchaudio.functional as AF

from espnet2_ext.augment import speed_perturb, zero_pad


def ramp_batch():
    # utterance 0: 1..6 (full), utterance 1: 1..4 then garbage 9, 9
    wav = torch.tensor([[1.0, 2, 3, 4, 5, 6], [1.0, 2, 3, 4, 9, 9]])
    return wav, torch.tensor([6, 4])


# ------------------------------------------------------------------ zero_pad


def test_zero_pad_start():
    wav, lens = ramp_batch()
    out, ol = zero_pad(wav, lens, torch.tensor([2, 3]), where="start")
    assert ol.tolist() == [8, 7]
    assert out.tolist() == [
        [0, 0, 1, 2, 3, 4, 5, 6],
        [0, 0, 0, 1, 2, 3, 4, 0],
    ]


def test_zero_pad_end():
    wav, lens = ramp_batch()
    out, ol = zero_pad(wav, lens, torch.tensor([2, 3]), where="end")
    assert ol.tolist() == [8, 7]
    assert out.tolist() == [
        [1, 2, 3, 4, 5, 6, 0, 0],
        [1, 2, 3, 4, 0, 0, 0, 0],  # zeros right after the last valid sample, not after the garbage
    ]


def test_zero_pad_both():
    wav, lens = ramp_batch()
    out, ol = zero_pad(wav, lens, torch.tensor([2, 3]), where="both")
    assert ol.tolist() == [8, 7]
    assert out.tolist() == [
        [0, 1, 2, 3, 4, 5, 6, 0],
        [0, 1, 2, 3, 4, 0, 0, 0],  # floor(3/2)=1 before, 2 after
    ]


def test_zero_pad_scalar_and_zero_pad_identity():
    wav, lens = ramp_batch()
    out, ol = zero_pad(wav, lens, 0)
    assert ol.tolist() == [6, 4]
    assert out.tolist() == [[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 0, 0]]


def test_zero_pad_gradient():
    wav = torch.randn(2, 10, requires_grad=True)
    out, _ = zero_pad(wav, torch.tensor([10, 7]), torch.tensor([4, 1]), where="start")
    out.sum().backward()
    assert wav.grad.tolist() == [[1.0] * 10, [1.0] * 7 + [0.0] * 3]


def test_zero_pad_errors():
    wav, lens = ramp_batch()
    with pytest.raises(ValueError, match="non-negative"):
        zero_pad(wav, lens, torch.tensor([1, -1]))
    with pytest.raises(ValueError, match="where"):
        zero_pad(wav, lens, torch.tensor([1, 1]), where="middle")
    with pytest.raises(ValueError, match="shape"):
        zero_pad(wav, lens, torch.tensor([1, 1, 1]))
    with pytest.raises(ValueError, match="lengths"):
        zero_pad(wav, torch.tensor([6]), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="lengths"):
        zero_pad(wav, torch.tensor([7, 1]), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="integer"):
        zero_pad(wav, lens, torch.tensor([1.5, 1.0]))


# -------------------------------------------------------------- speed_perturb


def test_speed_lengths():
    torch.manual_seed(0)
    lens = torch.tensor([16000, 12345, 8000, 16000])
    wav = torch.randn(4, 16000)
    factors = torch.tensor([1.1, 0.9, 1.2, 0.95])
    out, ol = speed_perturb(wav, lens, factors)
    for L, f, n in zip(lens.tolist(), factors.tolist(), ol.tolist()):
        assert abs(n - round(L / f)) <= 1
    assert out.shape == (4, max(ol.tolist()))
    for b in range(4):
        assert torch.count_nonzero(out[b, ol[b] :]) == 0


def test_speed_factor_one_is_identity():
    wav = torch.randn(2, 1000)
    wav[1, 700:] = 5.0  # garbage beyond the length
    out, ol = speed_perturb(wav, torch.tensor([1000, 700]), torch.tensor([1.0, 1.0]))
    assert ol.tolist() == [1000, 700]
    assert torch.equal(out[0], wav[0])
    assert torch.equal(out[1, :700], wav[1, :700])
    assert torch.count_nonzero(out[1, 700:]) == 0


def test_speed_matches_per_utterance_resampling():
    torch.manual_seed(1)
    wav = torch.randn(3, 4000)
    wav[1, 2500:] = 9.0
    lens = torch.tensor([4000, 2500, 3000])
    out, ol = speed_perturb(wav, lens, torch.tensor([1.1, 1.1, 0.9]))
    for b, f in enumerate((1.1, 1.1, 0.9)):
        ref = AF.resample(wav[b : b + 1, : lens[b]], orig_freq=round(16000 * f), new_freq=16000)[0]
        assert ol[b] == ref.shape[0]
        torch.testing.assert_close(out[b, : ol[b]], ref, atol=1e-5, rtol=1e-5)


def test_speed_changes_pitch():
    sr = 16000
    t = torch.arange(sr) / sr
    wav = torch.sin(2 * math.pi * 500 * t)[None]
    out, ol = speed_perturb(wav, torch.tensor([sr]), torch.tensor([1.25]), sample_rate=sr)
    spec = torch.fft.rfft(out[0, : ol[0]]).abs()
    peak_hz = spec.argmax().item() * sr / ol[0].item()
    assert abs(peak_hz - 625) < 5


def test_speed_gradient():
    wav = torch.randn(2, 3000, requires_grad=True)
    out, ol = speed_perturb(wav, torch.tensor([3000, 2000]), torch.tensor([1.1, 0.9]))
    out.pow(2).sum().backward()
    assert wav.grad[0].abs().sum() > 0 and wav.grad[1, :2000].abs().sum() > 0
    assert wav.grad[1, 2000:].abs().sum() == 0


def test_speed_errors():
    wav = torch.randn(2, 100)
    lens = torch.tensor([100, 100])
    for bad in ([1.0, 0.0], [1.0, -1.1], [float("nan"), 1.0]):
        with pytest.raises(ValueError, match="> 0"):
            speed_perturb(wav, lens, torch.tensor(bad))
    with pytest.raises(ValueError, match="shape"):
        speed_perturb(wav, lens, torch.tensor([1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="lengths"):
        speed_perturb(wav, torch.tensor([100]), torch.tensor([1.0, 1.0]))
