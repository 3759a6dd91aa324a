"""The recipe tools with N >= 2 speakers: mixtures (two and three speakers),
SI-SDRi scoring under the best permutation, cpWER/ORC-WER, encoder-pass
counting (bench/sep_passes.py), and GPIT's permutation against PIT over SI-SNR."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import check_data_dir, read_table
from espnet2_ext.recipe.scoring.mswer import mswer_tables
from espnet2_ext.recipe.scoring.signals import best_assignment, default_metrics, score_mixture, score_system
from espnet2_ext.recipe.simulate.mixing import place
from espnet2_ext.recipe.simulate.mixtures import mixture_sources, simulate

from helpers.env import REPO, subprocess_env

from recipe_helpers import speech_like

SEP_EXTRA = ["spk1.scp", "spk2.scp", "dereverb1.scp", "dereverb2.scp", "noise1.scp",
             "text_spk1", "text_spk2", "utt2offset", "utt2sir", "utt2snr"]


def clean_dir(tmp_path, an4):
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.prep_an4",
                        "--an4_root", str(an4), "--data_dir", str(tmp_path / "data"),
                        "--num_dev_spk", "1"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return tmp_path / "data" / "train"


def pair_utterances(u2s, seed, copies=1):
    return [utts for _, utts in mixture_sources(u2s, 2, seed, copies)]


def test_pairs_are_of_different_speakers():
    u2s = {"a-1": "a", "a-2": "a", "b-1": "b", "c-1": "c"}
    pairs = pair_utterances(u2s, seed=0)
    assert [p[0] for p in pairs] == sorted(u2s)
    assert all(u2s[x] != u2s[y] for x, y in pairs)
    assert pairs == pair_utterances(u2s, seed=0)
    three = pair_utterances(u2s, seed=0, copies=3)
    assert len(three) == 2 * 2 + 2 * 3 and len(set(three)) == len(three)
    assert all(u2s[x] != u2s[y] for x, y in three)
    with pytest.raises(RecipeError, match="at least 2 speakers"):
        pair_utterances({"a-1": "a", "a-2": "a"}, 0)
    # one speaker: every utterance alone; three: three different speakers
    assert mixture_sources(u2s, 1, 0, copies=2)[:2] == [("a-1-c1", ("a-1",)), ("a-1-c2", ("a-1",))]
    for key, utts in mixture_sources(u2s, 3, 0):
        assert len({u2s[u] for u in utts}) == 3 and key == "_".join(utts)
    with pytest.raises(RecipeError, match="at least 4 speakers"):
        mixture_sources(u2s, 4, 0)


def test_place_offsets_and_sirs():
    a = np.ones(1000, np.float32)
    b = 2 * np.ones(600, np.float32)
    c = 3 * np.ones(500, np.float32)
    rev, dry = place([[a, b], [a, b]], offsets=[700], sirs=[6.0])
    assert len(dry[0]) == len(rev[1]) == 1300  # both utterances complete
    assert not rev[1][:700].any() and rev[1][700:].all()
    lvl = 10 * np.log10(np.sum(rev[0] ** 2) / np.sum(rev[1] ** 2))
    assert abs(lvl - 6.0) < 1e-4
    (three,) = place([[a, b, c]], offsets=[100, 900], sirs=[0.0, 3.0])
    assert len(three[2]) == 1400 and not three[2][:900].any()
    assert abs(10 * np.log10(np.sum(three[0] ** 2) / np.sum(three[2] ** 2)) - 3.0) < 1e-4


@pytest.mark.parametrize("reverb", [False, True])
def test_simulate_mixtures(tmp_path, an4, reverb):
    src = clean_dir(tmp_path, an4)
    out = tmp_path / "mix"
    n = simulate(src, out, tmp_path / "wav", "train", [5.0], num_spk=2, reverb=reverb, seed=1,
                 offsets=(0.1, 0.3), sir_range=(0, 5), rt60_range=(0.2, 0.3))
    assert n == len(read_table(src / "wav.scp"))
    assert check_data_dir(out, extra=SEP_EXTRA) == []
    text = read_table(src / "text")
    for key, mix_path in read_table(out / "wav.scp").items():
        u1, u2 = key.split("_")
        assert read_table(out / "text_spk1")[key] == text[u1]
        assert read_table(out / "text_spk2")[key] == text[u2]
        assert read_table(src / "utt2spk")[u1] != read_table(src / "utt2spk")[u2]
        m, sr = sf.read(mix_path)
        parts = [sf.read(read_table(out / f"{name}.scp")[key])[0]
                 for name in ("spk1", "spk2", "noise1")]
        assert sr == 16000 and all(len(p) == len(m) for p in parts)
        assert np.max(np.abs(m - sum(parts))) < 3e-4  # mixture = speech + speech + noise
        off = float(read_table(out / "utt2offset")[key])
        assert 0.1 - 1e-3 <= off <= 0.3 + 1e-3
        d2 = sf.read(read_table(out / "dereverb2.scp")[key])[0]
        assert not np.any(d2[: int(off * 16000) - 16])  # utt2offset is rounded to 1 ms
        d1 = sf.read(read_table(out / "dereverb1.scp")[key])[0]
        if not reverb:
            assert np.allclose(d1, parts[0], atol=1e-4)
            assert read_table(out / "dereverb1.scp")[key] == read_table(out / "spk1.scp")[key]
        else:  # reverberant speech starts with the dry one (RIR cut at its direct path)
            first = [int(np.flatnonzero(np.abs(x) > 1e-3)[0]) for x in (d2, parts[1])]
            assert abs(first[0] - first[1]) <= 16
            assert not np.allclose(d1, parts[0], atol=1e-3)
    # deterministic
    simulate(src, tmp_path / "mix2", tmp_path / "wav2", "train", [5.0], num_spk=2, reverb=reverb,
             seed=1, offsets=(0.1, 0.3), sir_range=(0, 5), rt60_range=(0.2, 0.3))
    k = next(iter(read_table(out / "wav.scp")))
    a = sf.read(read_table(out / "wav.scp")[k])[0]
    b = sf.read(read_table(tmp_path / "mix2" / "wav.scp")[k])[0]
    assert np.array_equal(a, b)


def test_three_speaker_mixtures(tmp_path, an4):
    src = clean_dir(tmp_path, an4)
    out = tmp_path / "mix3"
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.simulate_noisy", "--num_spk", "3",
                        "--src_dir", str(src), "--out_dir", str(out), "--wav_dir", str(tmp_path / "w3"),
                        "--part", "eval", "--snrs", "10", "--reverb", "true", "--offsets", "0.1 0.3"],
                       capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert r.returncode == 0, r.stderr
    assert "3-speaker mixtures" in r.stdout
    extra = [f"{k}{n}" for k in ("spk", "dereverb") for n in (1, 2, 3)]
    assert check_data_dir(out, extra=[f"{e}.scp" for e in extra] + ["text_spk3", "utt2offset"]) == []
    key = next(iter(read_table(out / "wav.scp")))
    m, _ = sf.read(read_table(out / "wav.scp")[key])
    parts = [sf.read(read_table(out / f"{n}.scp")[key])[0] for n in ("spk1", "spk2", "spk3", "noise1")]
    assert np.max(np.abs(m - sum(parts))) < 5e-4
    assert len(read_table(out / "utt2offset")[key].split()) == 2


def test_simulate_cli_errors(tmp_path, an4):
    src = clean_dir(tmp_path, an4)
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.simulate_mixtures",
                        "--src_dir", str(src), "--out_dir", str(tmp_path / "o"),
                        "--wav_dir", str(tmp_path / "w"), "--part", "train",
                        "--offsets", "1 0.5"], capture_output=True, text=True)
    assert r.returncode == 1 and "--offsets" in r.stderr


def test_best_assignment_and_sisdri():
    s1, s2 = speech_like(16000, 0), speech_like(16000, 5)[::-1].copy()
    mix = s1 + s2
    perm, sdr = best_assignment([s1, s2], [s2 + 0.01 * s1, s1 + 0.01 * s2])
    assert perm == (1, 0) and sdr[0, 1] > 30
    assert default_metrics(2) == default_metrics(3) == ("si_sdr", "si_sdri", "stoi")
    row = score_mixture([s1, s2], [s2, s1], 16000, default_metrics(2), mix)
    assert row["perm"] == (1, 0) and row["si_sdri"] > 30 and row["stoi"] > 0.99
    row = score_mixture([s1, s2], [mix, mix], 16000, ["si_sdr", "si_sdri", "pesq"], mix)
    assert row["si_sdri"] == pytest.approx(0.0, abs=1e-9) and 1.0 < row["pesq"] < 4.7


def test_score_system_files(tmp_path):
    s1, s2 = speech_like(16000, 1), speech_like(16000, 2)[::-1].copy()
    files = {"mix": s1 + s2, "r1": s1, "r2": s2, "e1": s2, "e2": s1}
    scps = {}
    for name, x in files.items():
        sf.write(tmp_path / f"{name}.wav", x, 16000)
        scps[name] = tmp_path / f"{name}.scp"
        scps[name].write_text(f"utt1 {tmp_path / f'{name}.wav'}\n")
    summ = score_system([scps["r1"], scps["r2"]], [scps["e1"], scps["e2"]], tmp_path / "out",
                        ["si_sdr", "si_sdri"], mix_scp=scps["mix"])
    assert summ["si_sdri"] > 20
    assert "2,1" in (tmp_path / "out" / "per_utt.tsv").read_text()
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.score_sep",
                        "--mix_scp", str(scps["mix"]), "--ref_scp", str(scps["r1"]),
                        "--ref_scp", str(scps["r2"]), "--out_dir", str(tmp_path / "cli"),
                        "--no_stoi", f"mixture={scps['mix']}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "cli/mixture/summary.json").read_text())["si_sdri"] == 0.0


def test_cpwer_orcwer():
    refs = [{"m1": "ONE TWO THREE", "m2": "YES"}, {"m1": "FOUR FIVE", "m2": "NO STOP"}]
    # streams swapped in m1, one substitution in m2
    hyps = [{"m1": "FOUR FIVE", "m2": "YES"}, {"m1": "ONE TWO THREE", "m2": "NO GO"}]
    r = mswer_tables(refs, hyps)
    assert r["ref_words"] == 8 and r["cp_errors"] == 1
    assert r["cpwer"] == pytest.approx(100 / 8) and r["orcwer"] == pytest.approx(100 / 8)
    assert r["per_utt"]["m1"]["errors"] == 0
    # one stream holding both speakers: cpWER counts the other as deleted; ORC does not
    one = [{"m1": "ONE TWO THREE FOUR FIVE", "m2": "YES NO STOP"}]
    r1 = mswer_tables(refs, one)
    assert r1["orcwer"] == 0.0 and r1["cpwer"] > 30
    # a missing hypothesis counts as empty
    r2 = mswer_tables(refs, [{"m1": "FOUR FIVE"}, {"m1": "ONE TWO THREE"}])
    assert r2["cp_errors"] == 3
    with pytest.raises(RecipeError, match="other mixtures"):
        mswer_tables([{"m1": "A"}, {"m2": "B"}], hyps)


def test_score_mswer_cli(tmp_path):
    for name, rows in {"r1": "m1 A B\n", "r2": "m1 C\n", "h1": "m1 C\n", "h2": "m1 A X\n"}.items():
        (tmp_path / name).write_text(rows)
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.score_mswer",
                        "--ref", str(tmp_path / "r1"), "--ref", str(tmp_path / "r2"),
                        "--hyp", str(tmp_path / "h1"), "--hyp", str(tmp_path / "h2"),
                        "--out", str(tmp_path / "w.json")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "cpWER 33.33%" in r.stdout
    assert json.loads((tmp_path / "w.json").read_text())["cp_sub"] == 1


def _sep_passes():
    import runpy

    return runpy.run_path(str(REPO / "bench" / "sep_passes.py"))


@pytest.mark.parametrize("N", [2, 3])
def test_encoder_passes_pit_vs_gpit(N):
    count_passes = _sep_passes()["count_passes"]

    ref = [torch.from_numpy(np.stack([speech_like(8000, 10 * n + b) for b in range(2)]))
           for n in range(N)]
    r = count_passes(ref, "ssl_mse", "tiny")
    assert r["pit"]["criterion_calls"] == math.factorial(N) * N
    assert r["pit"]["encoder_passes"] == 2 * math.factorial(N) * N
    assert r["gpit"]["criterion_calls"] == N and r["gpit"]["encoder_passes"] == 2 * N
    assert r["pit"]["perm"] == r["gpit"]["perm"]


def test_count_encoder_passes_tool(tmp_path):
    """The bin tool runs bench/sep_passes.py of the checkout (stage 8 of separation)."""
    d = tmp_path / "d"
    d.mkdir()
    for n in (1, 2):
        rows = []
        for k in range(2):
            sf.write(tmp_path / f"s{n}{k}.wav", speech_like(8000, 10 * n + k), 16000)
            rows.append(f"m{k} {tmp_path / f's{n}{k}.wav'}\n")
        (d / f"spk{n}.scp").write_text("".join(rows))
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.count_encoder_passes", "--data_dir", str(d),
                        "--out", str(tmp_path / "p.json")], capture_output=True, text=True,
                       env=subprocess_env(), timeout=300)
    assert r.returncode == 0, r.stderr
    p = json.loads((tmp_path / "p.json").read_text())
    assert (p["pit"]["encoder_passes"], p["gpit"]["encoder_passes"]) == (8, 4)
    assert "| gpit | 2 | 4 |" in (tmp_path / "p.md").read_text()


def test_gpit_recovers_pit_permutation_on_an4_mixtures(tmp_path):
    """Realistic signals: reverberant two-speaker AN4 mixtures, estimates with crosstalk
    and noise, streams swapped at random per utterance.  GPIT (SI-SNR guide, ssl_mse
    main loss) takes PIT-over-SI-SNR's permutation, which is the true one."""
    from espnet2.enh.loss.criterions.time_domain import SISNRLoss
    from espnet2.enh.loss.wrappers.pit_solver import PITSolver

    from espnet2_ext.enh.loss.criterions.ssl import SSLMSELoss
    from espnet2_ext.enh.loss.wrappers.gpit import GuidedPITSolver

    from recipe_helpers import shared_or_skip

    shared = shared_or_skip()
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.prep_an4",
                        "--an4_root", str(shared / "an4"), "--data_dir", str(tmp_path / "data"),
                        "--num_dev_spk", "1"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "mix"
    simulate(tmp_path / "data" / "test", out, tmp_path / "wav", "eval", [10.0], num_spk=2,
             noise_dir=shared / "noise" / "speech_commands", reverb=True, seed=3)
    keys = sorted(read_table(out / "wav.scp"))[:6]
    refs = [[sf.read(read_table(out / f"spk{s}.scp")[k], dtype="float32")[0] for k in keys]
            for s in (1, 2)]
    T = min(len(x) for s in refs for x in s)
    ref = [torch.from_numpy(np.stack([x[:T] for x in s])) for s in refs]
    g = torch.Generator().manual_seed(0)
    true = [[0, 1] if b % 2 == 0 else [1, 0] for b in range(len(keys))]
    est = [torch.stack([ref[true[b].index(t)][b] + 0.3 * ref[1 - true[b].index(t)][b]
                        + 0.02 * torch.randn(T, generator=g) for b in range(len(keys))])
           for t in (0, 1)]
    _, _, pit_o = PITSolver(SISNRLoss())(ref, est, {})
    _, _, gpit_o = GuidedPITSolver(SSLMSELoss(upstream="tiny"), guide="si_snr")(ref, est, {})
    assert pit_o["perm"].tolist() == true
    assert gpit_o["perm"].tolist() == true
