"""Noisy simulation (stage 2): SNR correctness, disjoint noise, outputs."""

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.recipe import simulate as sim
from espnet2_ext.recipe.an4 import prepare
from espnet2_ext.recipe.common import RecipeError, check_data_dir, read_table


@pytest.mark.parametrize("snr", [-5.0, 0.0, 7.5, 20.0])
def test_mix_hits_requested_snr(snr):
    rng = np.random.default_rng(1)
    s = rng.standard_normal(16000).astype(np.float32) * 0.1
    n = rng.standard_normal(16000).astype(np.float32) * 0.7
    m, s2, n2, g = sim.mix(s, n, snr)
    assert sim.snr_db(s2, n2) == pytest.approx(snr, abs=1e-3)
    assert np.allclose(m, s2 + n2, atol=1e-6)
    assert np.max(np.abs(m)) <= 0.9 + 1e-6  # rescaled, SNR kept
    assert 0 < g <= 1


def test_noise_segments_are_disjoint():
    x = np.arange(1000, dtype=np.float32) + 1
    rng = np.random.default_rng(0)
    for _ in range(50):
        tr = sim.noise_segment(x, 100, "train", 0.8, rng)
        ev = sim.noise_segment(x, 100, "eval", 0.8, rng)
        assert tr.max() <= 800 and ev.min() > 800
    long = sim.noise_segment(x, 500, "eval", 0.8, rng)  # tiled when short
    assert len(long) == 500 and long.min() > 800


def test_simulated_dir_snr_and_files(an4, tmp_path):
    prepare(an4, tmp_path / "data", num_dev_spk=1)
    noise = tmp_path / "noise"
    noise.mkdir()
    sf.write(str(noise / "hum.wav"), 0.2 * np.random.default_rng(3).standard_normal(48000), 16000)
    sf.write(str(noise / "n8k.wav"), 0.2 * np.random.default_rng(4).standard_normal(16000), 8000)
    n = sim.simulate(tmp_path / "data/train", tmp_path / "data/train_noisy", tmp_path / "dump",
                     "train", [0, 5, 10], noise_dir=noise, seed=3)
    d = tmp_path / "data/train_noisy"
    assert n == 4
    assert check_data_dir(d, extra=["spk1.scp", "noise1.scp", "utt2snr"]) == []
    mixes, refs, noises = (read_table(d / f) for f in ("wav.scp", "spk1.scp", "noise1.scp"))
    for utt, snr in read_table(d / "utt2snr").items():
        assert float(snr) in (0, 5, 10)
        m, _ = sf.read(mixes[utt])
        s, _ = sf.read(refs[utt])
        nz, _ = sf.read(noises[utt])
        assert sim.snr_db(s, nz) == pytest.approx(float(snr), abs=0.05)  # 16-bit files
        assert np.allclose(m, s + nz, atol=3e-4)
    # same seed: same result
    sim.simulate(tmp_path / "data/train", tmp_path / "data/again", tmp_path / "dump2",
                 "train", [0, 5, 10], noise_dir=noise, seed=3)
    assert (tmp_path / "data/again/utt2snr").read_text() == (d / "utt2snr").read_text()


def test_generated_noise_and_reverb(an4, tmp_path):
    prepare(an4, tmp_path / "data", num_dev_spk=1)
    sim.simulate(tmp_path / "data/test", tmp_path / "data/test_noisy", tmp_path / "dump",
                 "eval", [5], babble_dir=tmp_path / "data/train", reverb=True, seed=1)
    d = tmp_path / "data/test_noisy"
    utt = next(iter(read_table(d / "wav.scp")))
    assert read_table(d / "utt2noise")[utt] in ("coloured", "babble")
    m, sr = sf.read(read_table(d / "wav.scp")[utt])
    assert sr == 16000 and len(m) == 16000


def test_bad_noise_dir(an4, tmp_path):
    prepare(an4, tmp_path / "data", num_dev_spk=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecipeError, match="contains no audio files"):
        sim.simulate(tmp_path / "data/test", tmp_path / "o", tmp_path / "w", "eval", [5],
                     noise_dir=tmp_path / "empty")
    assert sim.cli(["--src_dir", str(tmp_path / "data/test"), "--out_dir", str(tmp_path / "o"),
                    "--wav_dir", str(tmp_path / "w"), "--part", "eval", "--snrs", "5 x"]) == 1
