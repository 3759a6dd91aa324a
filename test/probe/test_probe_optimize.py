"""The optimisation probe (training-time view) on constructed encoders."""

import pytest
import torch

from _probe_encoders import FramingEncoder, MixedEncoder, speechlike
from espnet2_ext.probe import OptimizeConfig, build_loss, logmel_distance, optimize_utterance
from espnet2_ext.probe import signals
from espnet2_ext.probe.losses import seed_for
from espnet2_ext.probe.optimize import summarize_optimization, word_errors

U = speechlike(5, 0.6)


def test_logmel_distance():
    noise = 0.05 * torch.randn(U.shape[0], generator=torch.Generator().manual_seed(0))
    assert logmel_distance(U, U) == 0
    assert logmel_distance(U, noise) == pytest.approx(logmel_distance(noise, U))
    assert logmel_distance(U, U + 0.1 * noise) < logmel_distance(U, noise)
    with pytest.raises(ValueError, match="shapes"):
        logmel_distance(U, U[:-1])


def test_word_errors_by_hand():
    assert word_errors("GO HOME NOW", "go home now") == (0, 3)
    assert word_errors("GO HOME NOW", "GO NOW") == (1, 3)  # one deletion
    assert word_errors("GO HOME", "NO HOME TODAY") == (2, 2)  # substitution + insertion
    assert word_errors("", "") == (0, 0)


def test_loss_and_content_fall_together_when_the_features_are_the_waveform():
    """Raw frames as features: minimising the loss moves the waveform towards u, so the log-mel distance falls."""
    r = optimize_utterance(FramingEncoder(), build_loss("ssl_mse"), U, OptimizeConfig(steps=15, lr=2e-3, layer=0), "u")
    assert r["loss_end"] < 0.7 * r["loss_start"]
    assert r["logmel_end"] < r["logmel_start"] - 1.0


@pytest.mark.parametrize("name", ["ssl_mse_pad", "ssl_sdtw"])
def test_training_losses_optimise_and_the_start_is_the_envelope_noise(name):
    loss = build_loss(name)
    enc = MixedEncoder()
    cfg = OptimizeConfig(steps=4, lr=1e-3, layer=-1, seed=3)
    a = optimize_utterance(enc, loss, U, cfg, "u")
    assert a == optimize_utterance(enc, loss, U, cfg, "u")  # seeded
    assert a["loss_end"] < a["loss_start"]
    zero = optimize_utterance(enc, loss, U, OptimizeConfig(steps=0, seed=3), "u")
    assert zero["loss_end"] == zero["loss_start"] == a["loss_start"]
    e = signals.envelope_noise(U, torch.Generator().manual_seed(seed_for(3, "u", "envelope")))
    assert zero["logmel_start"] == pytest.approx(logmel_distance(e, U))  # the probe's envelope candidate


def test_recognizer_errors_and_summary():
    said = {"calls": 0}

    def recognize(wav):
        said["calls"] += 1
        return "GO"

    rows = [optimize_utterance(FramingEncoder(), build_loss("ssl_mse"), U, OptimizeConfig(steps=1), "u",
                               recognize=recognize, transcript="GO HOME")]
    assert said["calls"] == 3  # start, end and the clean reference
    assert rows[0]["errors_start"] == rows[0]["errors_end"] == rows[0]["errors_ref"] == 1 and rows[0]["words"] == 2
    rows.append(dict(rows[0], loss_start=2.0, loss_end=1.0, errors_end=0))
    rows[0].update(loss_start=4.0, loss_end=1.0)
    s = summarize_optimization(rows)
    assert s["n"] == 2 and s["loss_drop"] == pytest.approx(1 - 1.0 / 3.0)  # ratio of means
    assert s["wer_start"] == pytest.approx(50.0) and s["wer_end"] == pytest.approx(25.0)


def test_bad_layer_is_named():
    with pytest.raises(ValueError, match="layer index 5 out of range"):
        optimize_utterance(FramingEncoder(), build_loss("ssl_mse"), U, OptimizeConfig(steps=1, layer=5), "u")
