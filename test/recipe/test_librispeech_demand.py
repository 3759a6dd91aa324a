"""The whole librispeech_demand/enh1 recipe (stages 1-8) on miniature LibriSpeech
and DEMAND trees in the official layouts, built from the shared AN4 audio and
noise: tiny upstream, tiny configs (1 epoch), 8 training utterances.

One module fixture runs the recipe once (~3 min on 2 CPU cores); the tests check
its outputs: data dirs, the seen/unseen noise split and the SNR set of the
simulated sets, models, enhanced audio, scores, WER and PER files, RESULTS.md
with seen and unseen columns; then that a rerun does no work and that bad input
gives a clear error.  Skipped when the shared data is absent.
"""

import json
import re

import pytest
import soundfile as sf

from espnet2_ext.recipe.common.kaldi import check_data_dir, read_table
from espnet2_ext.recipe.corpora.demand import SEEN, UNSEEN

from librispeech_demand_helpers import make_demand, make_librispeech
from recipe_helpers import REPO, make_recipe_dir, run_recipe as run, run_whole_recipe
from recipe_helpers import shared_or_skip

pytestmark = pytest.mark.slow

RECIPE = REPO / "egs2" / "librispeech_demand" / "enh1"
LOSSES = ["ssl_mse", "ssl_mse_pad", "ssl_sdtw"]
MODELS = ["base"] + [f"{loss}_seed0" for loss in LOSSES]  # the stage script's default --seeds 0
FRONTENDS = ["noisy"] + MODELS
SETS = ["train", "dev", "test_seen", "test_unseen"]
TEST_SETS = ["test_seen", "test_unseen"]
SIZES = {"train-clean-100": 8, "dev-clean": 2, "test-clean": 2}


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    shared = shared_or_skip()
    corpora = tmp_path_factory.mktemp("corpora")
    make_librispeech(corpora / "LibriSpeech", shared / "an4", SIZES)
    make_demand(corpora / "DEMAND", shared / "noise" / "speech_commands", seconds=4.0)
    d = make_recipe_dir(tmp_path_factory.mktemp("recipe"), RECIPE)
    # the corpus options of run.sh, then the test's sizes (later options win);
    # dev is not scored here, to save time (run.sh scores it by default)
    args = ["--librispeech_root", str(corpora / "LibriSpeech"),
            "--demand_root", str(corpora / "DEMAND"), "--upstream", "tiny",
            "--conf_dir", "conf/tiny", "--ngpu", "0", "--nj", "1", "--inference_nj", "1",
            "--train_threads", "1", "--parallel_models", "true",
            "--eval_sets", "test_seen test_unseen"]
    return dict(run_whole_recipe(d, args), corpora=corpora)


def test_stage1_data(recipe):
    d = recipe["dir"] / "data"
    sizes = {s: len(read_table(d / s / "wav.scp")) for s in SETS}
    assert sizes == {"train": 8, "dev": 2, "test_seen": 2, "test_unseen": 2}
    for s in SETS:
        assert check_data_dir(d / s) == []
        want = UNSEEN if s == "test_unseen" else SEEN
        assert sorted(read_table(d / s / "noise_sources.scp")) == sorted(want)
    flac = next(iter(read_table(d / "train/wav.scp").values()))
    assert flac.endswith(".flac") and "/train-clean-100/" in flac


def test_stage2_noise_split_and_snrs(recipe):
    d = recipe["dir"] / "data"
    used = {}
    for s in SETS:
        nd = d / f"{s}_noisy"
        assert check_data_dir(nd, extra=["spk1.scp", "noise1.scp", "utt2snr", "utt2noise"]) == []
        assert set(read_table(nd / "wav.scp")) == set(read_table(d / s / "wav.scp"))
        assert set(read_table(nd / "utt2snr").values()) <= {"20", "10", "5"}
        used[s] = set(read_table(nd / "utt2noise").values())
        x, sr = sf.read(next(iter(read_table(nd / "wav.scp").values())))
        assert sr == 16000 and x.ndim == 1
    for s in ("train", "dev", "test_seen"):
        assert used[s] and used[s] <= set(SEEN), (s, used[s])
    assert used["test_unseen"] and used["test_unseen"] <= set(UNSEEN)
    snrs = set()
    for s in SETS:
        snrs |= set(read_table(d / f"{s}_noisy" / "utt2snr").values())
    assert len(snrs) >= 2  # drawn from the set, not one fixed value


def test_stage3_models(recipe):
    d = recipe["dir"]
    for m in MODELS:
        md = d / "exp" / f"enh_{m}"
        assert (md / "valid.loss.best.pth").exists() and (md / ".done").is_file()
        assert re.search(r"1epoch results: .*\[valid\] .*loss=", (md / "train.log").read_text())
    for loss in LOSSES:
        cfg = (d / "exp" / f"enh_{loss}_seed0" / "config.yaml").read_text()
        assert f"name: {loss}" in cfg and "upstream: tiny" in cfg


def test_stage4_5_enhanced_and_scored(recipe):
    d = recipe["dir"]
    for s in TEST_SETS:
        for m in MODELS:
            scp = read_table(d / f"exp/enhanced/{m}/{s}/spk1.scp")
            assert set(scp) == set(read_table(d / f"data/{s}_noisy/wav.scp"))
            x, sr = sf.read(next(iter(scp.values())))
            assert sr == 16000 and len(x) > 400
        for fe in FRONTENDS:
            summ = json.loads((d / f"exp/scores/{s}/{fe}/summary.json").read_text())
            assert -50 < summ["si_sdr"] < 60 and 1.0 <= summ["pesq"] <= 4.7
            assert 0 <= summ["stoi"] <= 1 and 0 <= summ["estoi"] <= 1


def test_stage6_7_wer_and_per(recipe):
    d = recipe["dir"]
    for s in TEST_SETS:
        for fe in ["clean"] + FRONTENDS:
            for f in (f"asr_sphinx/{s}/{fe}/wer.json", f"asr_superb/decode_{s}/{fe}/wer.json",
                      f"pr_superb/decode_{s}/{fe}/per.json"):
                w = json.loads((d / "exp" / f).read_text())
                assert w["wer"] >= 0 and w["num_utts"] == 2, f
    # the independent recognizer ran with pocketsphinx's own CMU dictionary + LM
    log = (d / "exp/asr_sphinx/test_seen/clean/log/decode.1.log").read_text()
    assert "cmudict-en-us.dict" in log and "en-us.lm.bin" in log
    # phoneme targets: CMU phones without stress, a phone token list, word tokens
    phn = read_table(d / "data/phn/test_seen/text")
    assert set(phn) == set(read_table(d / "data/test_seen/text"))
    tokens = (d / "data/token_list/phn/tokens.txt").read_text().split()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert all(t.isalpha() and t.isupper() for t in tokens[2:-1])
    assert all(p in tokens for v in read_table(d / "data/phn/train/text").values() for p in v.split())
    cfg = (d / "exp/pr_superb/config.yaml").read_text()
    assert "frontend: ssl_weighted_sum" in cfg and "token_type: word" in cfg
    assert "upstream: tiny" in cfg
    assert "token_type: char" in (d / "exp/asr_superb/config.yaml").read_text()


def test_stage8_report(recipe):
    d = recipe["dir"]
    text = (d / "RESULTS.md").read_text()
    table = [l for l in text.splitlines() if l.startswith("|")]
    head = [c.strip() for c in table[0].split("|")[1:-1]]
    metrics = ["SI-SDR [dB]", "PESQ", "STOI", "ESTOI", "MSE repr.", "sDTW repr.", "WER sphinx [%]",
               "WER downstream [%]", "PER downstream [%]"]
    assert head == ["front-end"] + [f"{m} ({s})" for m in metrics for s in ("seen", "unseen")]
    main = table[2:2 + 6]  # the main table: a row per front-end, a loss over its seed(s)
    assert [l.split("|")[1].strip() for l in main] == ["clean", "noisy", "base"] + LOSSES
    for l in main[1:]:  # every front-end row is filled
        assert "-" not in [c.strip() for c in l.split("|")[2:-1]], l
    assert "test_unseen: NFIELD" in text and "cmudict-en-us.dict" in text
    png = d / "convergence.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and "(convergence.png)" in text
    times = (d / "exp/stage_times.txt").read_text()
    for n in range(1, 9):
        assert f"stage_{n}:" in times
    print(f"\nrecipe wall time: {recipe['elapsed']:.0f} s\n{times}")


def test_rerun_does_no_work(recipe):
    d = recipe["dir"]
    markers = sorted(d.glob("data/.stage*.done")) + sorted(d.glob("exp/**/.done"))
    before = {m: m.stat().st_mtime_ns for m in markers}
    r = run(d, *recipe["args"])
    assert r.returncode == 0, r.stderr[-3000:]
    assert {m: m.stat().st_mtime_ns for m in markers} == before
    for n in range(1, 9):
        assert re.search(rf"stage {n}\b[^\n]*: already done \([^)]*\); skipped", r.stdout), n
    assert "stage 7 (pr decoding): already done" in r.stdout


def test_bad_input_is_reported(recipe, tmp_path):
    corpora = recipe["corpora"]
    demand = tmp_path / "DEMAND"
    make_demand(demand, shared_or_skip() / "noise" / "speech_commands",
                names=[n for n in SEEN + UNSEEN if n != "NPARK"], seconds=1.0)
    d = make_recipe_dir(tmp_path, RECIPE)
    r = run(d, "--librispeech_root", str(corpora / "LibriSpeech"), "--demand_root", str(demand),
            "--stop_stage", "1")
    assert r.returncode != 0
    assert "DEMAND environment(s) missing" in r.stdout + r.stderr and "NPARK" in r.stdout
    r = run(d, "--librispeech_root", str(corpora / "LibriSpeech"))
    assert r.returncode != 0 and "--demand_root is required" in r.stderr
    r = run(d, "--librispeech_root", str(corpora / "LibriSpeech"), "--demand_root", str(demand),
            "--downstream_tasks", "asr slu", "--stage", "8")  # stage 8: no config check first
    assert r.returncode != 0 and "unknown task 'slu'" in r.stderr
    for out in (r.stdout, r.stderr):
        assert "Traceback" not in out
