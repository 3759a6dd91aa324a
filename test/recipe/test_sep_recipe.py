"""The whole mini_an4/sep1 recipe (two-speaker separation) on the shared AN4 subset
+ noise with the tiny configs: stages 1-8 once (module fixture, a few minutes on
2 CPU cores), each stage's outputs, GPIT's permutation on the base model's real
separated outputs against PIT over SI-SNR, a rerun that skips every step, and
clear errors.  Skipped when the shared data is absent."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from espnet2_ext.recipe.common.kaldi import check_data_dir, read_table

from recipe_helpers import REPO, make_recipe_dir, run_recipe as run, run_whole_recipe
from recipe_helpers import shared_or_skip

pytestmark = pytest.mark.slow

SEP_RECIPE = REPO / "egs2" / "mini_an4" / "sep1"
MODELS = ["base", "si_snr_seed0", "ssl_mse_seed0"]
SEP_EXTRA = ["spk1.scp", "spk2.scp", "dereverb1.scp", "dereverb2.scp", "noise1.scp",
             "text_spk1", "text_spk2", "utt2offset", "utt2sir", "utt2snr", "utt2rt60"]


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    shared = shared_or_skip()
    d = make_recipe_dir(tmp_path_factory.mktemp("sep_recipe"), SEP_RECIPE)
    args = ["--an4_root", str(shared / "an4"),
            "--noise_dir", str(shared / "noise" / "speech_commands"),
            "--conf_dir", "conf/tiny", "--upstream", "tiny", "--num_dev_spk", "3", "--seeds", "0",
            "--recognizers", "sphinx whisper", "--whisper_recognizer", "whisper_tiny_en", "--probe", "false",
            "--nj", "1", "--inference_nj", "2", "--train_threads", "1"]
    return run_whole_recipe(d, args)


def test_stage2_two_speaker_mixtures(recipe):
    d = recipe["dir"]
    for s in ("train", "dev", "test"):
        nd = d / "data" / f"{s}_noisy"
        assert check_data_dir(nd, extra=SEP_EXTRA) == []
        assert len(read_table(nd / "wav.scp")) == len(read_table(d / "data" / s / "wav.scp"))
        for spks in read_table(nd / "utt2spks").values():
            a, b = spks.split()
            assert a != b
    test = d / "data" / "test_noisy"
    key = sorted(read_table(test / "wav.scp"))[0]
    m, sr = sf.read(read_table(test / "wav.scp")[key])
    parts = [sf.read(read_table(test / f"{n}.scp")[key])[0] for n in ("spk1", "spk2", "noise1")]
    assert sr == 16000 and np.max(np.abs(m - sum(parts))) < 3e-4
    assert set(read_table(test / "utt2snr").values()) <= {"10", "15", "20"}


def test_stage3_models(recipe):
    d = recipe["dir"]
    for m in MODELS:
        assert (d / "exp" / f"enh_{m}" / "valid.loss.best.pth").exists()
    log = (d / "exp" / "enh_ssl_mse_seed0" / "train.log").read_text()
    assert "si_snr_guide=" in log and "ssl_mse=" in log  # gpit's stats
    cfg = (d / "exp" / "enh_ssl_mse_seed0" / "config.yaml").read_text()
    assert "gpit" in cfg and "init_param" in cfg
    assert "si_snr_guide" not in (d / "exp" / "enh_si_snr_seed0" / "train.log").read_text()


def test_stage4_two_streams(recipe):
    d = recipe["dir"]
    n = len(read_table(d / "data" / "test_noisy" / "wav.scp"))
    for m in MODELS:
        for s in (1, 2):
            t = read_table(d / "exp" / "enhanced" / m / "test" / f"spk{s}.scp")
            assert len(t) == n
            x, sr = sf.read(next(iter(t.values())))
            assert sr == 16000 and np.any(x)


def test_stage5_6_scores(recipe):
    d = recipe["dir"]
    scores = {fe: json.loads((d / "exp/scores/test" / fe / "summary.json").read_text())
              for fe in ["mixture"] + MODELS}
    assert scores["mixture"]["si_sdri"] == pytest.approx(0.0, abs=1e-6)
    assert all(np.isfinite(s["si_sdr"]) and 0 < s["stoi"] <= 1 for s in scores.values())
    wer = {fe: json.loads((d / "exp/asr_sphinx/test" / fe / "wer.json").read_text())
           for fe in ["clean", "mixture"] + MODELS}
    for w in wer.values():
        assert w["orcwer"] <= w["cpwer"] + 1e-9
    assert wer["clean"]["cpwer"] < wer["mixture"]["cpwer"]
    assert wer["mixture"]["num_streams"] == 1 and wer["base"]["num_streams"] == 2
    # Whisper: cpWER / ORC-WER of every front-end's streams, both sides normalised
    wh = {fe: json.loads((d / "exp/asr_whisper/test" / fe / "wer.json").read_text())
          for fe in ["clean", "mixture"] + MODELS}
    assert wh["clean"]["cpwer"] < wh["mixture"]["cpwer"] and wh["base"]["num_streams"] == 2
    assert all(w["orcwer"] <= w["cpwer"] + 1e-9 and len(w["per_utt"]) == 12 for w in wh.values())
    # representation distances of the separated streams (best permutation)
    rd = json.loads((d / "exp/repr/test/base/summary.json").read_text())
    assert rd["num_utts"] == 12 and rd["repr_mse"] > 0


def test_stage8_report(recipe):
    d = recipe["dir"]
    md = (d / "RESULTS.md").read_text()
    for row in ["clean", "mixture", "base", "si_snr", "ssl_mse"]:
        assert f"| {row} |" in md
    for col in ("SI-SDRi", "STOI", "cpWER sphinx", "ORC-WER sphinx", "cpWER Whisper", "MSE repr."):
        assert col in md
    assert "| pit | 4 | 8 |" in md and "| gpit | 2 | 4 |" in md
    passes = json.loads((d / "exp/passes/passes.json").read_text())
    assert passes["pit"]["encoder_passes"] == 8 and passes["gpit"]["encoder_passes"] == 4
    assert "stage 7 (SUPERB-style downstream ASR) is for enhancement only" in recipe["out"]
    print(f"\nmini_an4/sep1 recipe: {recipe['elapsed']:.0f} s\n{md}")


def _load(scp: Path, keys):
    t = read_table(scp)
    xs = [sf.read(t[k], dtype="float32")[0] for k in keys]
    n = min(len(x) for x in xs)
    return torch.stack([torch.from_numpy(x[:n]) for x in xs])


def test_gpit_recovers_pit_permutation_on_separated_outputs(recipe):
    """On the base separator's real outputs for the test mixtures: GPIT (SI-SNR guide,
    ssl_mse main loss) picks the permutation that ESPnet's PIT over SI-SNR finds, and
    the scoring's best-SI-SDR permutation; with one encoder call per speaker."""
    from espnet2.enh.loss.criterions.time_domain import SISNRLoss
    from espnet2.enh.loss.wrappers.pit_solver import PITSolver

    from espnet2_ext.enh.loss.criterions.ssl import SSLMSELoss
    from espnet2_ext.enh.loss.wrappers.gpit import GuidedPITSolver

    d = recipe["dir"]
    data = d / "data" / "test_noisy"
    keys = sorted(read_table(data / "wav.scp"))
    # one length per batch: equal-length mixtures are not needed, each key alone
    pit_perm, gpit_perm = [], []
    crit = SSLMSELoss(upstream="tiny")
    calls = []
    orig = crit.forward
    crit.forward = lambda *a, **k: (calls.append(1), orig(*a, **k))[1]
    for k in keys:
        ests = [_load(d / "exp/enhanced/base/test" / f"spk{s}.scp", [k]) for s in (1, 2)]
        refs = [_load(data / f"spk{s}.scp", [k]) for s in (1, 2)]
        n = min(x.shape[1] for x in ests + refs)
        ests, refs = [x[:, :n] for x in ests], [x[:, :n] for x in refs]
        _, _, o = PITSolver(SISNRLoss())(refs, ests, {})
        pit_perm.append(o["perm"].tolist()[0])
        _, _, o = GuidedPITSolver(crit, guide="si_snr")(refs, ests, {})
        gpit_perm.append(o["perm"].tolist()[0])
    assert gpit_perm == pit_perm
    assert len(calls) == 2 * len(keys)
    scored = [line.split("\t")[-1] for line in
              (d / "exp/scores/test/base/per_utt.tsv").read_text().splitlines()[1:]]
    assert scored == [",".join(str(i + 1) for i in p) for p in pit_perm]


def test_rerun_skips_everything(recipe):
    d = recipe["dir"]
    t0 = time.time()
    r = run(d, *recipe["args"])
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout + r.stderr
    for step in ("stage 1", "stage 2", "stage 3 (stats)", "stage 3 (base)", "stage 3 (ssl_mse_seed0)",
                 "stage 4 (base)", "stage 5 (test)", "stage 6 (ssl_mse_seed0)", "stage 6 (whisper)", "stage 8"):
        assert f"{step}: already done" in out, step
    assert time.time() - t0 < 60


def test_bad_options(recipe):
    d = recipe["dir"]
    r = run(d, *recipe["args"], "--ref_prefix", "wet", "--stage", "3")
    assert r.returncode != 0 and "--ref_prefix must be spk or dereverb" in r.stdout + r.stderr
    r = run(d, *recipe["args"], "--sep_losses", "no_such_loss", "--stage", "3", "--stop_stage", "3")
    assert r.returncode != 0 and "fine-tune config for no_such_loss not found" in r.stdout + r.stderr
