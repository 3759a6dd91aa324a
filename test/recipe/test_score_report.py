"""Signal scores against known values, WER, report table and plot."""

import json
import math

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.recipe import report, score, wer
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


def test_pesq_stoi_known_values():
    ref = speech_like(32000)
    s = score.score_pair(ref, ref)
    assert s["pesq"] == pytest.approx(4.644, abs=0.01)  # wide-band PESQ maximum
    assert s["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert s["estoi"] == pytest.approx(1.0, abs=1e-6)
    noisy = ref + 0.3 * np.random.default_rng(0).standard_normal(len(ref)).astype(np.float32)
    d = score.score_pair(ref, noisy)
    assert d["pesq"] < 2.0 and d["stoi"] < 0.95 and d["estoi"] < d["stoi"]
    short = score.score_pair(ref[:3000], ref[:3000])  # too short for STOI: NaN, not 1e-5
    assert math.isnan(short["stoi"])


def test_score_system_files(tmp_path):
    ref = speech_like(24000)
    sf.write(tmp_path / "r.wav", ref, 16000)
    sf.write(tmp_path / "e.wav", ref, 16000)
    (tmp_path / "ref.scp").write_text(f"u1 {tmp_path}/r.wav\n")
    (tmp_path / "est.scp").write_text(f"u1 {tmp_path}/e.wav\n")
    summ = score.score_system(tmp_path / "ref.scp", tmp_path / "est.scp", tmp_path / "out")
    assert summ["si_sdr"] > 60 and summ["pesq"] > 4.5 and summ["num_utts"] == 1
    assert json.loads((tmp_path / "out/summary.json").read_text())["stoi"] == pytest.approx(1, abs=1e-4)
    assert (tmp_path / "out/per_utt.tsv").read_text().splitlines()[0] == "utt\tsi_sdr\tpesq\tstoi\testoi"
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
    c = report.parse_train_log(report.train_logs(tmp_path / "enh_ssl_mse"))
    assert c["loss"] == {1: 0.5, 2: 0.4, 3: 0.3}
    assert c["si_snr_loss"][2] == -4.0


def test_report_table_and_png(tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    _fake_exp(exp)
    text = report.make_report(exp, ["noisy", "base", "ssl_mse"], ["base", "ssl_mse"], "test",
                              tmp_path / "RESULTS.md", tmp_path / "conv.png")
    lines = [l for l in text.splitlines() if l.startswith("|")]
    assert lines[0] == ("| front-end | SI-SDR [dB] | PESQ | STOI | ESTOI | WER indep. [%] "
                        "| WER downstream [%] |")
    rows = {l.split("|")[1].strip(): [c.strip() for c in l.split("|")[2:-1]] for l in lines[2:]}
    assert list(rows) == ["clean", "noisy", "base", "ssl_mse"]
    assert rows["clean"] == ["-", "-", "-", "-", "10.0", "11.0"]
    assert rows["ssl_mse"] == ["10.00", "1.50", "0.800", "-", "30.0", "31.0"]
    assert "![validation loss per epoch](conv.png)" in text
    assert (tmp_path / "conv.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ssl_mse: 3 epochs" in text


def test_report_ignores_results_of_unfinished_steps(tmp_path):
    """An interrupted step (no marker) leaves files that the report must not take
    for finished work: its cells print as ``-``."""
    exp = tmp_path / "exp"
    exp.mkdir()
    _fake_exp(exp)
    (exp / "scores/test/.done").unlink()  # stage 5 interrupted while rescoring
    (exp / "asr_sphinx/test/base/.done").unlink()  # stage 6 interrupted on base
    text = report.make_report(exp, ["noisy", "base", "ssl_mse"], ["base", "ssl_mse"], "test",
                              tmp_path / "RESULTS.md", tmp_path / "conv.png")
    rows = {l.split("|")[1].strip(): [c.strip() for c in l.split("|")[2:-1]]
            for l in text.splitlines()[1:] if l.startswith("| ") and "front-end" not in l}
    assert rows["base"] == ["-", "-", "-", "-", "-", "41.0"]
    assert rows["ssl_mse"] == ["-", "-", "-", "-", "30.0", "31.0"]


def test_report_without_results(tmp_path):
    assert report.cli(["--exp", str(tmp_path), "--out", str(tmp_path / "R.md")]) == 1
