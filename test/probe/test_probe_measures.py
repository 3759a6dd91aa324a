"""The measures and the index on constructed encoders where the answer is known."""

import pytest
import torch

from _probe_encoders import ConvEncoder, FramingEncoder, MixedEncoder, PositionalEncoder, speechlike
from espnet2_ext.probe import ProbeConfig, build_loss, measure_names, probe_utterance, run_probe

CFG = ProbeConfig(shifts=(1, 2, 5, 10), mismatch=0.25, seed=0)
UTTS = [(f"u{i}", speechlike(i, 0.7 + 0.1 * i)) for i in range(8)]


@pytest.fixture(scope="module")
def losses():
    return {n: build_loss(n) for n in ("ssl_mse", "ssl_mse_pad", "ssl_sdtw")}


def _index(result, loss, layer):
    return result["losses"][loss]["summary"][str(layer)]["index"]


def _run(enc, losses, names, utts=UTTS):
    return run_probe(enc, [losses[n] for n in names], utts, list(range(enc.num_layers + 1)), CFG,
                     n_boot=300, progress=False)


def test_measures_by_hand_on_raw_frames():
    """Features = the waveform's 400-sample frames: every measure is a plain frame MSE."""
    enc = FramingEncoder()
    u, v = UTTS[0][1], UTTS[1][1]
    res = probe_utterance(enc, [build_loss("ssl_mse", train=False)], u, v, [0, 1], CFG, "u0")["ssl_mse"]
    fu = u.unfold(0, 400, 320)
    v_fit = torch.nn.functional.pad(v, (0, max(0, len(u) - len(v))))[: len(u)]
    assert res[0]["self"] == 0
    assert res[0]["silence"] == pytest.approx(float(fu.pow(2).mean()), rel=1e-5)
    assert res[0]["other"] == pytest.approx(float((fu - v_fit.unfold(0, 400, 320)).pow(2).mean()), rel=1e-5)
    for k in (1, 2, 5, 10):  # raw frames carry no position: a delay in whole hops changes nothing
        assert res[0][f"shift_{k}"] == 0
    assert res[0]["mismatched"] == res[0]["envelope"] > 0
    for m, val in res[0].items():  # layer 1 is twice layer 0: four times the MSE
        assert res[1][m] == pytest.approx(4 * val, rel=1e-5, abs=1e-12)


def test_training_padding_is_dropped_as_ssl_mse_pad_does(losses):
    """ssl_mse_pad in training mode pads the reference but compares content-aligned frames."""
    enc = FramingEncoder()
    u, v = UTTS[2][1], UTTS[3][1]
    pad = probe_utterance(enc, [losses["ssl_mse_pad"]], u, v, [0], CFG, "u2")["ssl_mse_pad"][0]
    plain = probe_utterance(enc, [build_loss("ssl_mse", train=False)], u, v, [0], CFG, "u2")["ssl_mse"][0]
    assert pad == pytest.approx(plain, rel=1e-5, abs=1e-12)


def test_positional_encoder_without_content_path_gets_index_one(losses):
    res = _run(PositionalEncoder(), losses, ["ssl_mse"])
    for layer in range(3):
        summ = res["losses"]["ssl_mse"]["summary"][str(layer)]
        assert summ["envelope"]["mean"] == 0 and summ["other"]["mean"] == 0  # only position is seen
        assert summ["mismatched"]["mean"] > 0 and summ["shift_10"]["mean"] > summ["shift_1"]["mean"] > 0
        assert _index(res, "ssl_mse", layer)["mean"] == pytest.approx(1.0)


def test_shift_equivariant_conv_stack_gets_index_near_zero(losses):
    res = _run(ConvEncoder(), losses, ["ssl_mse", "ssl_mse_pad", "ssl_sdtw"])
    for loss in ("ssl_mse", "ssl_mse_pad", "ssl_sdtw"):
        for layer in range(3):
            idx = _index(res, loss, layer)
            assert abs(idx["mean"]) < 0.01, (loss, layer, idx)
            assert idx["lo"] > -0.02 and idx["hi"] < 0.02
            summ = res["losses"][loss]["summary"][str(layer)]
            assert summ["envelope"]["mean"] > 0  # the encoder does see content


@pytest.mark.parametrize("encoder", [PositionalEncoder, MixedEncoder])
def test_sdtw_and_padding_get_a_lower_index_than_mse_on_a_positional_encoder(losses, encoder):
    """Lower beyond the 95 % intervals: ssl_sdtw's upper bound is below ssl_mse's lower bound."""
    res = _run(encoder(), losses, ["ssl_mse", "ssl_mse_pad", "ssl_sdtw"])
    for layer in range(3):
        mse = _index(res, "ssl_mse", layer)
        assert mse["mean"] > 0.9
        for other in ("ssl_sdtw", "ssl_mse_pad"):
            idx = _index(res, other, layer)
            assert idx["hi"] < mse["lo"], (other, layer, idx, mse)


def test_values_are_deterministic_and_per_utterance(losses):
    enc = MixedEncoder()
    sel = [losses["ssl_mse_pad"], losses["ssl_sdtw"]]
    u, v = UTTS[3][1], UTTS[4][1]
    a = probe_utterance(enc, sel, u, v, [1], CFG, "u4")
    b = probe_utterance(enc, sel, u, v, [1], CFG, "u4")
    assert a == b
    torch.manual_seed(123)  # the caller's random state neither matters nor changes
    state = torch.random.get_rng_state()
    assert probe_utterance(enc, sel, u, v, [1], CFG, "u4") == a
    assert torch.equal(torch.random.get_rng_state(), state)
    # another seed draws other perturbations
    c = probe_utterance(enc, sel, u, v, [1], ProbeConfig(seed=1), "u4")
    assert c["ssl_sdtw"][1]["envelope"] != a["ssl_sdtw"][1]["envelope"]


def test_run_probe_structure_and_pairing(losses):
    res = run_probe(ConvEncoder(), [losses["ssl_mse"]], UTTS[:3], [0, 2], CFG, n_boot=50, progress=False)
    assert res["measures"] == measure_names(CFG.shifts)
    assert res["pairs"] == {"u0": "u1", "u1": "u2", "u2": "u0"}
    entry = res["losses"]["ssl_mse"]
    assert entry["train_mode"] is True and entry["l2_normalize"] is False
    assert set(entry["summary"]) == {"0", "2"}
    assert all(len(vals) == 3 for vals in entry["values"]["2"].values())
    single = run_probe(ConvEncoder(), [losses["ssl_mse"]], UTTS[:1], [0], CFG, n_boot=50, progress=False)
    assert "other" not in single["losses"]["ssl_mse"]["summary"]["0"]  # nobody to pair with
    assert single["losses"]["ssl_mse"]["summary"]["0"]["envelope"]["lo"] is None


def test_batched_comparison_equals_one_at_a_time(losses):
    """probe_utterance compares all candidates in one call; each row equals the single comparison."""
    enc = MixedEncoder()
    u = UTTS[1][1]
    a, b = enc.extract_layers(u[None])[0][2], enc.extract_layers(u[None] * 0.5)[0][2]
    cands = torch.cat([a, b, torch.zeros_like(a)], dim=0)
    flens = torch.full((3,), a.shape[1])
    for loss in losses.values():
        ref_layers, ref_flen, info = loss.reference(enc, u, seed=7)
        many = loss.compare_many(ref_layers[2], ref_flen, cands, flens, info)
        one = [loss.compare_layer(ref_layers[2], ref_flen, cands[i : i + 1], flens[:1], info) for i in range(3)]
        assert torch.allclose(many, torch.cat(one), rtol=1e-5, atol=1e-7), loss.name


def test_losses_keep_their_own_options():
    assert build_loss("ssl_sdtw").l2_normalize is True  # ssl_sdtw's default
    assert build_loss("ssl_sdtw", {"l2_normalize": False}).l2_normalize is False
    assert build_loss("ssl_mse_pad", {"pad_range": [0.1, 0.2]}).criterion.pad_range == (0.1, 0.2)
    assert build_loss("ssl_mse", train=False).train_mode is False
    with pytest.raises(ValueError, match="ssl_sdtw"):
        build_loss("ssl_sdtw", {"no_such_option": 1})
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("ssl_l1")


def test_short_utterance_is_named(losses):
    with pytest.raises(ValueError, match="'tiny-utt'"):
        probe_utterance(ConvEncoder(), [losses["ssl_mse"]], torch.zeros(399), None, [0], CFG, "tiny-utt")
