"""Seeds in the layout and the report: run names, aggregation over seeds (mean,
min-max), intervals over utterances (Student-t, bootstrap of a rate), the
differences to the base model, the convergence band; against values computed
by hand."""

import json
import math

import numpy as np
import pytest

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.report import plot, stats, table
from espnet2_ext.recipe.report.results import make_report
from espnet2_ext.recipe.steps.layout import Layout, parse_seeds, run_name, split_run


def test_run_names_and_groups(tmp_path):
    assert run_name("ssl_mse", 2) == "ssl_mse_seed2"
    assert split_run("ssl_mse_pad_seed10") == ("ssl_mse_pad", 10)
    assert split_run("base") == ("base", None) and split_run("x_seedy") == ("x_seedy", None)
    assert parse_seeds("0 1,2") == [0, 1, 2]
    for bad in ("0 -1", "a", "1 1"):
        with pytest.raises(RecipeError, match="--seeds"):
            parse_seeds(bad)
    lo = Layout(exp=tmp_path, models=["base", "ssl_mse", "ssl_sdtw"], seeds=[0, 1])
    assert lo.models == ["base", "ssl_mse_seed0", "ssl_mse_seed1", "ssl_sdtw_seed0", "ssl_sdtw_seed1"]
    assert lo.frontends[0] == "noisy" and lo.losses == ["ssl_mse", "ssl_sdtw"]
    assert lo.groups() == {"base": ["base"], "ssl_mse": ["ssl_mse_seed0", "ssl_mse_seed1"],
                           "ssl_sdtw": ["ssl_sdtw_seed0", "ssl_sdtw_seed1"]}
    assert lo.runs()[1] == ("ssl_mse", 1, "ssl_mse_seed1")
    assert lo.finetune_config("ssl_mse_seed1") == tmp_path / "enh_configs/enh_finetune_ssl_mse.yaml"
    assert Layout(exp=tmp_path, models=["base", "ssl_mse"]).models == ["base", "ssl_mse"]  # no seeds: as named


def test_t_interval_known_values():
    iv = stats.t_interval([1.0, 2.0, 3.0, 4.0])
    # mean 2.5, s = 1.2910, t(0.975, 3) = 3.1824 -> half width 2.0543
    assert iv.mean == pytest.approx(2.5) and iv.n == 4
    assert iv.hi - iv.mean == pytest.approx(3.182446 * 1.290994 / 2, rel=1e-5)
    assert stats.t_interval([1.0, float("nan"), 3.0]).n == 2  # NaN left out
    one = stats.t_interval([5.0])
    assert one.mean == 5.0 and math.isnan(one.lo)


def test_rate_interval_bootstrap():
    errors, words = [0, 1, 2, 0, 5, 1, 0, 3], [4, 5, 6, 3, 7, 4, 2, 6]
    iv = stats.rate_interval(errors, words, n_boot=4000, seed=1)
    assert iv.mean == pytest.approx(100 * 12 / 37)
    assert iv.lo < iv.mean < iv.hi and iv.n == 8
    # the same as resampling by hand with the same generator
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 8, size=(4000, 8))
    rates = 100 * np.asarray(errors)[idx].sum(1) / np.asarray(words)[idx].sum(1)
    assert (iv.lo, iv.hi) == pytest.approx(tuple(np.percentile(rates, [2.5, 97.5])))
    assert stats.rate_interval([0, 0], [3, 4]).hi == 0.0  # no error anywhere: [0, 0]
    with pytest.raises(ValueError):
        stats.rate_interval([1, 2], [3])


def test_spread():
    s = stats.spread([1.0, 4.0, 2.5])
    assert (s.mean, s.min, s.max, s.n) == (2.5, 1.0, 4.0, 3)
    assert s.std == pytest.approx(1.5)


def _write_scores(exp, fe, sdr_per_utt, words=None, errors=None):
    d = exp / "scores/test" / fe
    d.mkdir(parents=True)
    d.joinpath("per_utt.tsv").write_text("utt\tsi_sdr\tperm\n" + "".join(
        f"u{i}\t{v:.4f}\t1\n" for i, v in enumerate(sdr_per_utt)))
    d.joinpath("summary.json").write_text(json.dumps({"si_sdr": float(np.mean(sdr_per_utt))}))
    if errors is not None:
        w = exp / "asr_whisper/test" / fe
        w.mkdir(parents=True)
        per = {f"u{i}": {"errors": e, "words": n} for i, (e, n) in enumerate(zip(errors, words))}
        w.joinpath("wer.json").write_text(json.dumps({"wer": 100 * sum(errors) / sum(words), "per_utt": per}))


def _seeded_exp(tmp_path):
    exp = tmp_path / "exp"
    words = [3, 4, 5]
    _write_scores(exp, "noisy", [1.0, 2.0, 3.0], words, [3, 2, 2])
    _write_scores(exp, "base", [5.0, 6.0, 7.0], words, [1, 1, 1])
    for seed, (shift, errs) in enumerate([(1.0, [0, 1, 0]), (2.0, [0, 0, 0]), (1.5, [1, 1, 0])]):
        _write_scores(exp, f"ssl_mse_seed{seed}", [5.0 + shift, 6.0 + shift, 7.0 + shift], words, errs)
    for seed, shift in enumerate([-0.5, 0.5, 0.2]):
        _write_scores(exp, f"ssl_sdtw_seed{seed}", [5.0 + shift, 6.0 + shift, 7.0 + shift], words, [1, 1, 1])
    (exp / "scores/test/.done").write_text("sig\n")
    (exp / "asr_whisper/test/.done").write_text("sig\n")
    return Layout(exp=exp, models=["base", "ssl_mse", "ssl_sdtw"], asr_sets=["test"], seeds=[0, 1, 2])


def test_tables_over_seeds(tmp_path):
    lo = _seeded_exp(tmp_path)
    metrics = table.present_metrics(lo)
    assert [(m.source, m.key) for m in metrics] == [("scores", "si_sdr"), ("whisper", "wer")]
    rows, cols = table.collect(lo, metrics)
    by = {r["frontend"]: r for r in rows}
    assert list(by) == ["clean", "noisy", "base", "ssl_mse", "ssl_sdtw"]
    c = by["ssl_mse"]["SI-SDR [dB]"]
    assert (c.value, c.lo, c.hi, c.n) == pytest.approx((7.5, 7.0, 8.0, 3))  # mean of 7, 8, 7.5; min, max
    assert by["base"]["SI-SDR [dB]"] == table.Cell(6.0)
    assert table.format_cell(c, "{:.2f}") == "7.50 (7.00 to 8.00)"
    # intervals over utterances: seeds averaged per utterance first -> 6.5, 7.5, 8.5
    rows, cols = table.collect_intervals(lo, metrics)
    iv = {r["frontend"]: r for r in rows}["ssl_mse"]["SI-SDR [dB]"]
    ref = stats.t_interval([6.5, 7.5, 8.5])
    assert (iv.value, iv.lo, iv.hi) == pytest.approx((ref.mean, ref.lo, ref.hi))
    w = {r["frontend"]: r for r in rows}["ssl_mse"]["WER Whisper [%]"]
    assert w.value == pytest.approx(100 * 3 / 36)  # 3 errors over 3 x 12 words
    # differences to base: mse moves every seed up (bold), sdtw straddles 0 (not bold)
    rows, cols = table.collect_differences(lo, metrics)
    d = {r["frontend"]: r for r in rows}
    assert d["ssl_mse"]["SI-SDR [dB]"].value == pytest.approx(1.5)
    assert table.beyond_spread(d["ssl_mse"]["SI-SDR [dB]"])
    assert not table.beyond_spread(d["ssl_sdtw"]["SI-SDR [dB]"])
    md = table.markdown_table(rows, cols, "loss", mark=True)
    assert "| ssl_mse | **1.50 (1.00 to 2.00)** |" in md and "| ssl_sdtw | 0.07 (-0.50 to 0.50) |" in md


def test_report_with_seeds(tmp_path):
    lo = _seeded_exp(tmp_path)
    for m, own in [("base", [-5.0, -7.0]), ("ssl_mse_seed0", [0.5, 0.4]), ("ssl_mse_seed1", [0.6, 0.3])]:
        d = lo.model_dir(m)
        d.mkdir(parents=True)
        d.joinpath("train.log").write_text("".join(
            f"[h] x INFO: {i + 1}epoch results: [train] loss=1.0, [valid] si_snr_loss={-5 - i:.1f}, loss={v}\n"
            for i, v in enumerate(own)))
    text = make_report(lo, tmp_path / "R.md", tmp_path / "c.png", upstream="whisper_tiny_en",
                       whisper="whisper_base")
    assert "mean over its 3 seeds (0, 1, 2)" in text
    for title in ("## 95 % intervals over utterances", "## Each seed", "## Differences to the base model"):
        assert title in text
    assert "| ssl_mse (seed 1) | 8.00 | 0.0 |" in text
    assert "Whisper `whisper_base`" in text
    assert "ssl_mse: 2 epochs x 2 seeds" in text
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_convergence_band():
    ep, mean, lo, hi = plot.band([{1: 1.0, 2: 3.0, 3: 9.0}, {1: 3.0, 2: 5.0}])
    assert ep == [1, 2] and mean == [2.0, 4.0] and lo == [1.0, 3.0] and hi == [3.0, 5.0]
    assert plot.band([]) == ([], [], [], [])
