"""The whole mini_an4/enh1 recipe on the shared AN4 subset + noise, tiny configs
and the ``tiny`` upstream, two fine-tuning seeds, both recognizers (Whisper
tiny.en: the upstream is ``tiny``), stage 7 and the probe on.

Runs stages 1-8 once (module fixture, ~5 min on 2 CPU cores), checks each
stage's outputs, then that a rerun skips every finished step and that bad
input gives a clear error.  Skipped when the shared data is absent.
"""

import json
import re
import time

import pytest
import soundfile as sf
import torch

from espnet2_ext.recipe.common.kaldi import check_data_dir, read_table

from recipe_helpers import RECIPE, kill_tree, make_recipe_dir, run_recipe as run
from recipe_helpers import run_whole_recipe, shared_or_skip, start_recipe

pytestmark = pytest.mark.slow

LOSSES = ["ssl_mse", "ssl_mse_pad", "ssl_sdtw"]
MODELS = ["base"] + [f"{loss}_seed{s}" for loss in LOSSES for s in (0, 1)]
FRONTENDS = ["noisy"] + MODELS


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    shared = shared_or_skip()
    d = make_recipe_dir(tmp_path_factory.mktemp("recipe"), RECIPE)
    args = ["--an4_root", str(shared / "an4"),
            "--noise_dir", str(shared / "noise" / "speech_commands"),
            "--conf_dir", "conf/tiny", "--upstream", "tiny", "--num_dev_spk", "3", "--snrs", "0 5 10",
            "--seeds", "0 1", "--recognizers", "sphinx whisper", "--whisper_recognizer", "whisper_tiny_en",
            "--downstream_tasks", "asr", "--probe", "true",
            "--probe_opts", "--max_utts 3 --optimize_steps 3 --optimize_utts 1 --bootstrap 200",
            "--nj", "1", "--inference_nj", "2", "--train_threads", "1"]
    return run_whole_recipe(d, args)


def test_stage1_data(recipe):
    d = recipe["dir"]
    sizes = {}
    for s in ("train", "dev", "test"):
        assert check_data_dir(d / "data" / s) == []
        sizes[s] = len(read_table(d / "data" / s / "wav.scp"))
    assert sizes["test"] == 12 and sizes["train"] + sizes["dev"] == 61
    dev_spk = set(read_table(d / "data/dev/utt2spk").values())
    assert len(dev_spk) == 3 and not dev_spk & set(read_table(d / "data/train/utt2spk").values())


def test_stage2_simulation(recipe):
    d = recipe["dir"]
    extra = ["spk1.scp", "noise1.scp", "utt2snr"]
    for s in ("train", "dev", "test"):
        nd = d / "data" / f"{s}_noisy"
        assert check_data_dir(nd, extra=extra) == []
        assert set(read_table(nd / "wav.scp")) == set(read_table(d / "data" / s / "wav.scp"))
        assert set(read_table(nd / "utt2snr").values()) <= {"0", "5", "10"}
        x, sr = sf.read(next(iter(read_table(nd / "wav.scp").values())))
        assert sr == 16000 and x.ndim == 1


def test_stage3_models(recipe):
    d = recipe["dir"]
    for m in MODELS:
        md = d / "exp" / f"enh_{m}"
        assert (md / "valid.loss.best.pth").exists() and (md / "config.yaml").is_file()
        assert (md / ".done").is_file()
        assert re.search(r"2epoch results: .*\[valid\] .*loss=", (md / "train.log").read_text())
    for m in MODELS[1:]:
        loss, seed = m.rsplit("_seed", 1)
        cfg = (d / "exp" / f"enh_{m}" / "config.yaml").read_text()
        assert f"name: {loss}" in cfg and "upstream: tiny" in cfg and f"\nseed: {seed}\n" in cfg
        assert "init_param:\n- exp/enh_base/valid.loss.best.pth" in cfg
    assert (d / "exp/enh_stats/train/speech_mix_shape").is_file()
    # the fine-tunings of every loss and seed came from one ESPnet import
    assert "6 of 6 run(s) of enh_train succeeded" in (d / "exp/log/finetune.log").read_text()
    # two seeds of one loss are two different models
    a, b = (torch.load(d / f"exp/enh_ssl_mse_seed{s}/valid.loss.best.pth") for s in (0, 1))
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_stage4_enhanced(recipe):
    d = recipe["dir"]
    for m in MODELS:
        assert (d / f"exp/enhanced/{m}/log/enh_inference.2.log").is_file()  # split by nj
        for s in ("dev", "test"):
            scp = read_table(d / f"exp/enhanced/{m}/{s}/spk1.scp")
            assert set(scp) == set(read_table(d / f"data/{s}_noisy/wav.scp"))
            x, sr = sf.read(next(iter(scp.values())))
            assert sr == 16000 and len(x) > 400


def test_stage5_scores(recipe):
    d = recipe["dir"]
    for s in ("dev", "test"):
        for fe in FRONTENDS:
            summ = json.loads((d / f"exp/scores/{s}/{fe}/summary.json").read_text())
            assert -50 < summ["si_sdr"] < 60 and 1.0 <= summ["pesq"] <= 4.7
            assert 0 <= summ["stoi"] <= 1 and 0 <= summ["estoi"] <= 1
    for fe in FRONTENDS:  # representation distances on the upstream, test set
        rd = json.loads((d / f"exp/repr/test/{fe}/summary.json").read_text())
        assert rd["num_utts"] == 12 and rd["repr_mse"] > 0 and rd["repr_sdtw"] > 0


def test_stage6_7_wer(recipe):
    d = recipe["dir"]
    for fe in ["clean"] + FRONTENDS:
        w = json.loads((d / f"exp/asr_sphinx/test/{fe}/wer.json").read_text())
        assert 0 <= w["wer"] and w["num_utts"] == 12
        w = json.loads((d / f"exp/asr_superb/decode_test/{fe}/wer.json").read_text())
        assert 0 <= w["wer"] and w["num_utts"] == 12
    clean = json.loads((d / "exp/asr_sphinx/test/clean/wer.json").read_text())["wer"]
    assert clean < 40  # pocketsphinx + AN4 LM on clean AN4
    for fe in ["clean"] + FRONTENDS:  # Whisper: one job array over every front-end
        w = json.loads((d / f"exp/asr_whisper/test/{fe}/wer.json").read_text())
        assert 0 <= w["wer"] and w["num_utts"] == 12 and len(w["per_utt"]) == 12
    assert json.loads((d / "exp/asr_whisper/test/clean/wer.json").read_text())["wer"] < 30
    cfg = (d / "exp/asr_superb/config.yaml").read_text()
    assert "frontend: ssl_weighted_sum" in cfg


def test_stage8_report(recipe):
    d = recipe["dir"]
    text = (d / "RESULTS.md").read_text()
    table = [l for l in text.splitlines() if l.startswith("|")]
    head = [c.strip() for c in table[0].split("|")[1:-1]]
    assert head == ["front-end", "SI-SDR [dB]", "PESQ", "STOI", "ESTOI", "MSE repr.", "sDTW repr.",
                    "WER sphinx [%]", "WER Whisper [%]", "WER downstream [%]"]
    main = table[2:2 + 6]
    assert [l.split("|")[1].strip() for l in main] == ["clean", "noisy", "base"] + LOSSES
    for l in main[1:]:  # every front-end row is filled; a loss: mean over its two seeds (min to max)
        assert "-" not in [c.strip() for c in l.split("|")[2:-1]], l
    assert all(" to " in c for c in main[-1].split("|")[2:-1])
    for title in ("## 95 % intervals over utterances", "## Each seed", "## Differences to the base model",
                  "## Positional-shortcut probe", "## Convergence"):
        assert title in text, title
    assert "| ssl_sdtw (seed 1) |" in text
    assert "(exp/position_probe/probe.png)" in text and (d / "exp/position_probe/probe.png").is_file()
    png = d / "convergence.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and "(convergence.png)" in text


def test_stage_banners_and_timing(recipe):
    out = recipe["out"]
    for n in range(1, 9):
        assert re.search(rf"=+ stage {n}: ", out), f"no banner for stage {n}"
        assert re.search(rf"stage {n}: .* finished in \d+ s", out)
    times = (recipe["dir"] / "exp/stage_times.txt").read_text()
    assert "stage_8:" in times
    print(f"\nrecipe wall time: {recipe['elapsed']:.0f} s\n{times}")


def test_rerun_does_no_work(recipe):
    d = recipe["dir"]
    markers = sorted(d.glob("data/.stage*.done")) + sorted(d.glob("exp/**/.done"))
    assert len(markers) >= 20
    before = {m: m.stat().st_mtime_ns for m in markers}
    model = d / "exp/enh_base/valid.loss.best.pth"
    model_mtime = model.resolve().stat().st_mtime_ns
    t0 = time.time()
    r = run(d, *recipe["args"])
    assert r.returncode == 0, r.stderr[-3000:]
    assert time.time() - t0 < 60
    assert {m: m.stat().st_mtime_ns for m in markers} == before
    assert model.resolve().stat().st_mtime_ns == model_mtime
    for n in range(1, 9):
        assert re.search(rf"stage {n}\b[^\n]*: already done \([^)]*\); skipped", r.stdout), n
    assert "training the base model" not in r.stdout and "enhancing" not in r.stdout


def test_resume_from_stage_3(recipe):
    r = run(recipe["dir"], *recipe["args"], "--stage", "3", "--stop_stage", "3")
    assert r.returncode == 0
    assert "stage 1:" not in r.stdout and "stage 3 (ssl_sdtw_seed1): already done" in r.stdout


def test_bad_input_is_reported(recipe, tmp_path):
    d = recipe["dir"]
    r = run(d, "--an4_root", str(tmp_path / "missing"))
    assert r.returncode != 0 and "is not a directory" in r.stderr
    r = run(d, "--no_such_option", "1")
    assert r.returncode != 0 and "unknown option '--no_such_option'" in r.stderr
    r = run(d, "--snrs", "5 loud", "--stage", "2")
    assert r.returncode != 0 and "'loud' is not a number" in r.stderr
    for out in (r.stdout, r.stderr):
        assert "Traceback" not in out
    r = run(d, *recipe["args"], "--whisper_recognizer", "whisper_base", "--upstream", "whisper_base")
    assert r.returncode != 0 and "--whisper_recognizer whisper_base is the --upstream of the losses" in r.stderr
    r = run(d, *recipe["args"], "--seeds", "0 one")
    assert r.returncode != 0 and "--seeds: 'one' is not a non-negative integer" in r.stderr


def test_enhancement_needs_finished_training(recipe):
    """Stage 4 does not enhance with a model whose training has no marker (a
    stage 3 killed mid-way leaves a valid.loss.best.pth of an earlier epoch)."""
    d, args = recipe["dir"], recipe["args"]
    marker = d / "exp/enh_ssl_mse_seed0/.done"
    saved = marker.read_text()
    marker.unlink()
    try:
        r = run(d, *args, "--stage", "4", "--stop_stage", "4")
    finally:
        marker.write_text(saved)
    assert r.returncode != 0
    assert "stage 3 (training of the ssl_mse_seed0 model) has not finished" in r.stderr
    assert "enhancing" not in r.stdout and "Traceback" not in r.stdout + r.stderr


def test_interrupted_stage_leaves_nothing_taken_for_finished(recipe, tmp_path):
    """A rerun of stage 4 killed mid-way (SIGKILL of the whole process tree, as
    a preemption would) leaves neither its marker nor outputs that stage 5
    would score; running stage 4 again completes it and stage 5 follows."""
    d, args = recipe["dir"], recipe["args"]
    cfg = d / "exp/enh_base/config.yaml"
    # an edited model config: the base model's enhancement is out of date
    cfg.write_text(cfg.read_text() + "# edited after training\n")
    job_log = d / "exp/enhanced/base/log/enh_inference.1.log"
    old = job_log.stat()  # the log of the first run's job
    started = lambda: job_log.is_file() and job_log.stat().st_size > 0 and \
        (job_log.stat().st_ino, job_log.stat().st_mtime_ns) != (old.st_ino, old.st_mtime_ns)
    p = start_recipe(d, *args, "--stage", "4", "--stop_stage", "5", log=tmp_path / "run.log")
    try:
        t0 = time.time()
        while not started():
            assert p.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            assert time.time() - t0 < 300, "the enhancement job did not start"
            time.sleep(0.2)
    finally:
        kill_tree(p)
    assert not (d / "exp/enhanced/base/.done").exists()
    assert not list((d / "exp/enhanced/base").glob("*/spk1.scp"))
    assert (d / "exp/enhanced/ssl_mse_seed0/.done").is_file()  # untouched models stay done
    r = run(d, *args, "--stage", "5", "--stop_stage", "5")
    assert r.returncode != 0
    assert "stage 4 (enhancement with base) has not finished" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    r = run(d, *args, "--stage", "4", "--stop_stage", "5")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "enhancing dev test with base" in r.stdout
    assert "stage 4 (ssl_mse_seed0): already done" in r.stdout
    assert (d / "exp/enhanced/base/.done").is_file()
    assert (d / "exp/scores/test/.done").is_file()
