"""Signal scores against known values, WER, report table and plot (one speaker;
separation: test_sep_units.py)."""

import json
import math

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.recipe.report import results as report
from espnet2_ext.recipe.report import train_log
from espnet2_ext.recipe.scoring import signals as score
from espnet2_ext.recipe.scoring import wer
from espnet2_ext.recipe.steps.layout import Layout
from recipe_helpers import speech_like


def _orthogonal_noise(ref, seed=0):
    n = np.random.default_rng(seed).standard_normal(len(ref))
    r = ref - ref.mean()
    n = n - n.mean()
    return n - (n @ r) / (r @ r) * r


@pytest.mark.parametrize("target", [-3.0, 0.0, 10.0, 25.0])
def test_si_sdr_known_values(target):
    ref = speech_like(16000).astype(np.float64)
    r = ref - ref.mean()
    n = _orthogonal_noise(ref)
    n *= np.sqrt((r @ r) / (n @ n) / 10 ** (target / 10))
    assert score.si_sdr(ref, ref + n) == pytest.approx(target, abs=1e-6)
    assert score.si_sdr(ref, 3.0 * (ref + n)) == pytest.approx(target, abs=1e-6)  # scale-invariant


def _one(ref, est):
    return score.score_mixture([ref], [est], 16000, score.default_metrics(1))


def test_pesq_stoi_known_values():
    ref = speech_like(32000)
    s = _one(ref, ref)
    assert s["pesq"] == pytest.approx(4.644, abs=0.01)  # wide-band PESQ maximum
    assert s["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert s["estoi"] == pytest.approx(1.0, abs=1e-6)
    assert s["perm"] == (0,)
    noisy = ref + 0.3 * np.random.default_rng(0).standard_normal(len(ref)).astype(np.float32)
    d = _one(ref, noisy)
    assert d["pesq"] < 2.0 and d["stoi"] < 0.95 and d["estoi"] < d["stoi"]
    short = _one(ref[:3000], ref[:3000])  # too short for STOI: NaN, not 1e-5
    assert math.isnan(short["stoi"])
    longer = _one(ref, np.concatenate([noisy, np.zeros(800, np.float32)]))  # trimmed to the shortest
    assert longer["si_sdr"] == pytest.approx(d["si_sdr"])


def test_score_system_files(tmp_path):
    ref = speech_like(24000)
    sf.write(tmp_path / "r.wav", ref, 16000)
    sf.write(tmp_path / "e.wav", ref, 16000)
    (tmp_path / "ref.scp").write_text(f"u1 {tmp_path}/r.wav\n")
    (tmp_path / "est.scp").write_text(f"u1 {tmp_path}/e.wav\n")
    summ = score.score_system([tmp_path / "ref.scp"], [tmp_path / "est.scp"], tmp_path / "out",
                              score.default_metrics(1))
    assert summ["si_sdr"] > 60 and summ["pesq"] > 4.5 and summ["num_utts"] == 1
    assert summ["pesq_n"] == 1 and "si_sdri" not in summ
    assert json.loads((tmp_path / "out/summary.json").read_text())["stoi"] == pytest.approx(1, abs=1e-4)
    lines = (tmp_path / "out/per_utt.tsv").read_text().splitlines()
    assert lines[0] == "utt\tsi_sdr\tpesq\tstoi\testoi\tperm" and lines[1].endswith("\t1")
    # the CLI: one speaker's default metrics; a mixture given, SI-SDRi on request
    sf.write(tmp_path / "m.wav", ref + 0.1 * speech_like(24000, 3), 16000)
    (tmp_path / "mix.scp").write_text(f"u1 {tmp_path}/m.wav\n")
    assert score.cli(["--ref_scp", str(tmp_path / "ref.scp"), "--mix_scp", str(tmp_path / "mix.scp"),
                      "--out_dir", str(tmp_path / "c"), "--metrics", "si_sdr si_sdri",
                      f"noisy={tmp_path / 'mix.scp'}", f"ideal={tmp_path / 'est.scp'}"]) == 0
    noisy = json.loads((tmp_path / "c/noisy/summary.json").read_text())
    assert noisy["si_sdri"] == pytest.approx(0.0, abs=1e-9) and set(noisy) == {
        "num_utts", "si_sdr", "si_sdr_n", "si_sdri", "si_sdri_n"}
    assert json.loads((tmp_path / "c/ideal/summary.json").read_text())["si_sdri"] > 40
    assert score.cli(["--ref_scp", str(tmp_path / "ref.scp"), "--out_dir", str(tmp_path / "o"),
                      "--metrics", "si_sdri", f"x={tmp_path / 'est.scp'}"]) == 1  # needs --mix_scp
    (tmp_path / "est.scp").write_text("")
    assert score.cli(["--ref_scp", str(tmp_path / "ref.scp"), "--out_dir", str(tmp_path / "o"),
                      f"x={tmp_path / 'est.scp'}"]) == 1


def test_wer():
    r = wer.wer_tables({"a": "ONE TWO THREE", "b": "YES"}, {"a": "one two", "b": "NO SIR"})
    # a: 1 deletion; b: 1 substitution + 1 insertion -> 3 errors / 4 words
    assert r["wer"] == pytest.approx(75.0)
    assert (r["sub"], r["del"], r["ins"]) == (1, 1, 1)
    r = wer.wer_tables({"a": "A<space>B"}, {})
    assert r["wer"] == 100.0 and r["missing_hyps"] == 1


def _layout(exp):
    return Layout(exp=exp, models=["base", "ssl_mse"], asr_sets=["test"])


def _first_table(text):
    """The lines of the report's first (main) table."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def _fake_exp(exp):
    """Results of stages 5-7 as the stage script leaves them: each step's
    outputs plus its ``.done`` marker (written last)."""
    for fe, v in [("noisy", 5.0), ("base", 9.0), ("ssl_mse", 10.0)]:
        d = exp / "scores/test" / fe
        d.mkdir(parents=True)
        (d / "summary.json").write_text(json.dumps(
            {"si_sdr": v, "pesq": 1.5, "stoi": 0.8, "estoi": math.nan}))
    (exp / "scores/test/.done").write_text("sig\n")
    for fe, w in [("clean", 10.0), ("noisy", 50.0), ("base", 40.0), ("ssl_mse", 30.0)]:
        for sub in ("asr_sphinx/test", "asr_superb/decode_test"):
            d = exp / sub / fe
            d.mkdir(parents=True)
            (d / "wer.json").write_text(json.dumps({"wer": w + (1 if "superb" in sub else 0)}))
        (exp / "asr_sphinx/test" / fe / ".done").write_text("sig\n")
    (exp / "asr_superb/decode_test/.done").write_text("sig\n")
    for m, losses in [("base", [-5.0, -7.0]), ("ssl_mse", [0.5, 0.4, 0.3])]:
        d = exp / f"enh_{m}"
        d.mkdir()
        lines = [f"[host] 2024 (trainer:1) INFO: {i + 1}epoch results: [train] iter_time=0.1, "
                 f"loss=9.0, time=1 second, total_count=3, [valid] si_snr_loss=-4.000, "
                 f"loss={l:.3f}, [att_plot] time=0.1 seconds" for i, l in enumerate(losses)]
        # an interrupted run's log, then the resumed one
        (d / "train.log.1700000000").write_text(lines[0] + "\n")
        (d / "train.log").write_text("\n".join(lines[1:]) + "\n")


def test_parse_train_log(tmp_path):
    _fake_exp(tmp_path)
    c = train_log.parse_train_log(train_log.train_logs(tmp_path / "enh_ssl_mse"))
    assert c["loss"] == {1: 0.5, 2: 0.4, 3: 0.3}
    assert c["si_snr_loss"][2] == -4.0


def test_report_table_and_png(tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    _fake_exp(exp)
    text = report.make_report(_layout(exp), tmp_path / "RESULTS.md", tmp_path / "conv.png")
    lines = _first_table(text)
    assert lines[0] == ("| front-end | SI-SDR [dB] | PESQ | STOI | ESTOI | WER sphinx [%] "
                        "| WER downstream [%] |")
    rows = {l.split("|")[1].strip(): [c.strip() for c in l.split("|")[2:-1]] for l in lines[2:]}
    assert list(rows) == ["clean", "noisy", "base", "ssl_mse"]
    assert rows["clean"] == ["-", "-", "-", "-", "10.0", "11.0"]
    assert rows["ssl_mse"] == ["10.00", "1.50", "0.800", "-", "30.0", "31.0"]
    assert "![validation loss per epoch](conv.png)" in text
    assert (tmp_path / "conv.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ssl_mse: 3 epochs" in text
    # one fine-tuned model: its difference to base, no seed tables
    assert "## Differences to the base model" in text and "## Each seed" not in text
    assert "| ssl_mse | 1.00 | 0.00 | 0.000 | - | -10.0 | -10.0 |" in text  # one seed: nothing bold
    assert "no seed spread to tell a difference from noise" in text


def test_report_ignores_results_of_unfinished_steps(tmp_path):
    """An interrupted step (no marker) leaves files that the report must not take
    for finished work: its cells print as ``-``."""
    exp = tmp_path / "exp"
    exp.mkdir()
    _fake_exp(exp)
    (exp / "scores/test/.done").unlink()  # stage 5 interrupted while rescoring
    (exp / "asr_sphinx/test/base/.done").unlink()  # stage 6 interrupted on base
    text = report.make_report(_layout(exp), tmp_path / "RESULTS.md", tmp_path / "conv.png")
    rows = {l.split("|")[1].strip(): [c.strip() for c in l.split("|")[2:-1]]
            for l in _first_table(text)[2:]}
    assert rows["base"] == ["-", "-", "-", "-", "-", "41.0"]
    assert rows["ssl_mse"] == ["-", "-", "-", "-", "30.0", "31.0"]


def test_report_columns_come_from_the_results(tmp_path):
    """A metric is a column when some result holds it: no downstream task, no
    column for it; a new metric in the scores' JSON, a new column."""
    exp = tmp_path / "exp"
    exp.mkdir()
    _fake_exp(exp)
    import shutil

    shutil.rmtree(exp / "asr_superb")
    for fe in ("noisy", "base", "ssl_mse"):
        p = exp / "scores/test" / fe / "summary.json"
        p.write_text(json.dumps(dict(json.loads(p.read_text()), si_sdri=1.5)))
    text = report.make_report(_layout(exp), tmp_path / "R.md", tmp_path / "conv.png")
    head = [c.strip() for c in text.splitlines()[4].split("|")[1:-1]]
    assert head == ["front-end", "SI-SDR [dB]", "SI-SDRi [dB]", "PESQ", "STOI", "ESTOI",
                    "WER sphinx [%]"]
    assert "WER downstream" not in text


def test_report_cli_and_notes(tmp_path, monkeypatch):
    exp = tmp_path / "exp"
    exp.mkdir()
    _fake_exp(exp)
    recipe = tmp_path / "mini" / "enh1"
    recipe.mkdir(parents=True)
    args = ["--exp", str(exp), "--models", "base ssl_mse", "--asr_set", "test", "--recipe", str(recipe),
            "--out", str(tmp_path / "R.md"), "--png", str(tmp_path / "c.png"), "--upstream", "tiny",
            "--snrs", "5 10", "--noise_dir", "/n"]
    assert report.cli(args) == 0
    text = (tmp_path / "R.md").read_text()
    assert text.startswith("# mini/enh1: SSL-loss fine-tuning of SE front-ends\n")
    assert ("Recipe: `enh1`, upstream `tiny`, SNRs {5 10} dB, noise: /n, reverb false; configs from "
            f"`conf`. Per-stage wall times: `{exp}/stage_times.txt`.") in text
    assert "pocketsphinx (en-us acoustic model, cmudict-en-us.dict dictionary and en-us.lm.bin LM)" in text
    assert report.cli(args + ["--sphinx_dict", "/x/an4.dic", "--sphinx_lm", "/x/an4.ug.lm"]) == 0
    assert "an4.dic dictionary and an4.ug.lm LM" in (tmp_path / "R.md").read_text()


def test_report_without_results(tmp_path):
    assert report.cli(["--exp", str(tmp_path), "--out", str(tmp_path / "R.md")]) == 1
