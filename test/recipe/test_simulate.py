"""Noisy simulation of one speaker (stage 2): SNR correctness, disjoint noise, outputs
(mixtures of several speakers: test_sep_units.py)."""

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.recipe.simulate import mixing, mixtures, noise
from espnet2_ext.recipe.corpora.an4 import prepare
from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import check_data_dir, read_table


@pytest.mark.parametrize("snr", [-5.0, 0.0, 7.5, 20.0])
def test_mix_hits_requested_snr(snr):
    rng = np.random.default_rng(1)
    s = rng.standard_normal(16000).astype(np.float32) * 0.1
    n = rng.standard_normal(16000).astype(np.float32) * 0.7
    m, s2, n2, g = mixing.mix(s, n, snr)
    assert mixing.snr_db(s2, n2) == pytest.approx(snr, abs=1e-3)
    assert np.allclose(m, s2 + n2, atol=1e-6)
    assert np.max(np.abs(m)) <= 0.9 + 1e-6  # rescaled, SNR kept
    assert 0 < g <= 1


def test_noise_segments_are_disjoint():
    x = np.arange(1000, dtype=np.float32) + 1
    rng = np.random.default_rng(0)
    for _ in range(50):
        tr = noise.noise_segment(x, 100, "train", 0.8, rng)
        ev = noise.noise_segment(x, 100, "eval", 0.8, rng)
        assert tr.max() <= 800 and ev.min() > 800
    long = noise.noise_segment(x, 500, "eval", 0.8, rng)  # tiled when short
    assert len(long) == 500 and long.min() > 800


def test_simulated_dir_snr_and_files(an4, tmp_path):
    prepare(an4, tmp_path / "data", num_dev_spk=1)
    noise = tmp_path / "noise"
    noise.mkdir()
    sf.write(str(noise / "hum.wav"), 0.2 * np.random.default_rng(3).standard_normal(48000), 16000)
    sf.write(str(noise / "n8k.wav"), 0.2 * np.random.default_rng(4).standard_normal(16000), 8000)
    n = mixtures.simulate(tmp_path / "data/train", tmp_path / "data/train_noisy", tmp_path / "dump",
                     "train", [0, 5, 10], noise_dir=noise, seed=3)
    d = tmp_path / "data/train_noisy"
    assert n == 4
    assert check_data_dir(d, extra=["spk1.scp", "dereverb1.scp", "noise1.scp", "utt2snr", "text_spk1",
                                    "utt2noise", "utt2spks", "utt2rt60"]) == []
    assert read_table(d / "dereverb1.scp") == read_table(d / "spk1.scp")  # no room: the dry speech
    assert read_table(d / "text_spk1") == read_table(d / "text") == read_table(tmp_path / "data/train/text")
    assert read_table(d / "utt2spk") == read_table(tmp_path / "data/train/utt2spk")
    mixes, refs, noises = (read_table(d / f) for f in ("wav.scp", "spk1.scp", "noise1.scp"))
    for utt, snr in read_table(d / "utt2snr").items():
        assert float(snr) in (0, 5, 10)
        m, _ = sf.read(mixes[utt])
        s, _ = sf.read(refs[utt])
        nz, _ = sf.read(noises[utt])
        assert mixing.snr_db(s, nz) == pytest.approx(float(snr), abs=0.05)  # 16-bit files
        assert np.allclose(m, s + nz, atol=3e-4)
    # same seed: same result
    mixtures.simulate(tmp_path / "data/train", tmp_path / "data/again", tmp_path / "dump2",
                 "train", [0, 5, 10], noise_dir=noise, seed=3)
    assert (tmp_path / "data/again/utt2snr").read_text() == (d / "utt2snr").read_text()


def test_generated_noise_and_reverb(an4, tmp_path):
    prepare(an4, tmp_path / "data", num_dev_spk=1)
    mixtures.simulate(tmp_path / "data/test", tmp_path / "data/test_noisy", tmp_path / "dump",
                 "eval", [5], babble_dir=tmp_path / "data/train", reverb=True, seed=1)
    d = tmp_path / "data/test_noisy"
    utt = next(iter(read_table(d / "wav.scp")))
    assert read_table(d / "utt2noise")[utt] in ("coloured", "babble")
    m, sr = sf.read(read_table(d / "wav.scp")[utt])
    assert sr == 16000 and len(m) == 16000
    # the reference is the early part of the reverberant speech; the dry speech is kept
    ref, _ = sf.read(read_table(d / "spk1.scp")[utt])
    dry, _ = sf.read(read_table(d / "dereverb1.scp")[utt])
    assert not np.allclose(ref, dry, atol=1e-3) and 0.2 <= float(read_table(d / "utt2rt60")[utt]) <= 0.5
    # copies of the training set: ids UTT-cK, each its own draw
    n = mixtures.simulate(tmp_path / "data/train", tmp_path / "data/two", tmp_path / "dump2", "train",
                          [0, 5, 10, 15, 20], babble_dir=tmp_path / "data/train", copies=2, seed=1)
    keys = sorted(read_table(tmp_path / "data/two/wav.scp"))
    assert n == 8 and keys[:2] == ["fabc-an1-b-c1", "fabc-an1-b-c2"]


def test_noise_source_kinds(tmp_path):
    rng = np.random.default_rng(0)
    only = noise.NoiseSource("eval", 0.8, generated=["coloured"])
    kinds = {only.draw(rng, 1000, ["s"])[1] for _ in range(10)}
    assert kinds == {"coloured"}
    with pytest.raises(RecipeError, match="must be among coloured, babble"):
        noise.NoiseSource("eval", 0.8, generated=["pink"])
    with pytest.raises(RecipeError, match="part must be"):
        noise.NoiseSource("test", 0.8)


def test_bad_noise_dir(an4, tmp_path):
    prepare(an4, tmp_path / "data", num_dev_spk=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecipeError, match="contains no audio files"):
        mixtures.simulate(tmp_path / "data/test", tmp_path / "o", tmp_path / "w", "eval", [5],
                     noise_dir=tmp_path / "empty")
    assert mixtures.cli(["--src_dir", str(tmp_path / "data/test"), "--out_dir", str(tmp_path / "o"),
                    "--wav_dir", str(tmp_path / "w"), "--part", "eval", "--snrs", "5 x"]) == 1
