"""LibriSpeech + DEMAND data preparation, the CMU-dictionary phone targets, the
per-set noise lists of the simulation and the multi-set report, on miniature
trees in the official layouts built from the shared AN4 audio and noise."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import check_data_dir, read_table
from espnet2_ext.recipe.corpora.demand import SEEN, UNSEEN, find_environments
from espnet2_ext.recipe.corpora.librispeech import read_subset, read_trans
from espnet2_ext.recipe.corpora.librispeech_demand import prepare
from espnet2_ext.recipe.downstream.phones import (
    default_dict,
    load_lexicon,
    make_phone_dir,
    to_phones,
)
from espnet2_ext.recipe.downstream.tokens import token_list
from espnet2_ext.recipe.report.results import make_report
from espnet2_ext.recipe.simulate.mixtures import simulate
from espnet2_ext.recipe.steps.layout import Layout

from helpers.env import subprocess_env
from librispeech_demand_helpers import an4_utterances, make_demand, make_librispeech
from recipe_helpers import shared_or_skip

SIZES = {"train-clean-100": 4, "dev-clean": 2, "test-clean": 2}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    shared = shared_or_skip()
    root = tmp_path_factory.mktemp("corpora")
    ids = make_librispeech(root / "LibriSpeech", shared / "an4", SIZES)
    make_demand(root / "DEMAND", shared / "noise" / "speech_commands", seconds=3.0)
    return {"ls": root / "LibriSpeech", "demand": root / "DEMAND", "ids": ids}


def test_miniature_trees_have_the_official_layout(corpora):
    ls = corpora["ls"]
    for subset, ids in corpora["ids"].items():
        for utt in ids:
            spk, chap, _ = utt.split("-")
            assert (ls / subset / spk / chap / f"{utt}.flac").is_file()
            assert utt in read_trans(ls / subset / spk / chap / f"{spk}-{chap}.trans.txt")
    for env in SEEN + UNSEEN:
        assert (corpora["demand"] / env / "ch01.wav").is_file()
    a, _ = sf.read(str(corpora["demand"] / "DKITCHEN" / "ch01.wav"))
    b, _ = sf.read(str(corpora["demand"] / "NFIELD" / "ch01.wav"))
    assert not np.allclose(a, b)  # environments differ


def test_prepare_sets_and_noise_split(corpora, tmp_path):
    sizes = prepare(corpora["ls"], corpora["demand"], tmp_path / "data")
    assert sizes == {"train": 4, "dev": 2, "test_seen": 2, "test_unseen": 2}
    for s in sizes:
        d = tmp_path / "data" / s
        assert check_data_dir(d) == []
        noises = read_table(d / "noise_sources.scp")
        want = UNSEEN if s == "test_unseen" else SEEN
        assert sorted(noises) == sorted(want)
        assert all(Path(p).name == "ch01.wav" and Path(p).parent.name == n for n, p in noises.items())
    seen = read_table(tmp_path / "data/test_seen/text")
    unseen = read_table(tmp_path / "data/test_unseen/text")
    assert set(seen) == set(corpora["ids"]["test-clean"])
    assert {k + "-unseen" for k in seen} == set(unseen)  # same speech, ids kept apart
    assert list(seen.values()) == list(unseen.values())
    spk = read_table(tmp_path / "data/train/utt2spk")
    assert all(u.startswith(s + "-") for u, s in spk.items())
    assert (tmp_path / "data/bad_audio.txt").read_text() == ""


def test_missing_demand_environment_is_named(corpora, tmp_path):
    demand = tmp_path / "DEMAND"
    make_demand(demand, shared_or_skip() / "noise" / "speech_commands",
                names=[n for n in SEEN + UNSEEN if n not in ("TBUS", "SCAFE")], seconds=1.0)
    with pytest.raises(RecipeError, match=r"missing under .*: TBUS"):
        prepare(corpora["ls"], demand, tmp_path / "data")
    with pytest.raises(RecipeError, match=r"missing under .*: SCAFE"):
        find_environments(demand, UNSEEN)
    with pytest.raises(RecipeError, match="is not a directory"):
        find_environments(tmp_path / "nowhere", SEEN)


def _copy_tree(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_missing_transcription_line(corpora, tmp_path):
    ls = _copy_tree(corpora["ls"], tmp_path / "LS")
    trans = sorted((ls / "dev-clean").rglob("*.trans.txt"))[0]
    dropped = trans.read_text().splitlines()[0].split()[0]
    trans.write_text("".join(l + "\n" for l in trans.read_text().splitlines()[1:]))
    with pytest.raises(RecipeError) as e:
        prepare(ls, corpora["demand"], tmp_path / "data")
    assert dropped in str(e.value) and "no transcription line" in str(e.value)
    assert "--skip_bad_audio true" in str(e.value)
    sizes = prepare(ls, corpora["demand"], tmp_path / "data", skip_bad_audio=True)
    assert sizes["dev"] == 1
    assert dropped in (tmp_path / "data/bad_audio.txt").read_text()


def test_bad_flac_is_named(corpora, tmp_path):
    ls = _copy_tree(corpora["ls"], tmp_path / "LS")
    flac = sorted((ls / "train-clean-100").rglob("*.flac"))[0]
    flac.write_bytes(b"not audio at all")
    stereo = sorted((ls / "train-clean-100").rglob("*.flac"))[1]
    x, sr = sf.read(str(stereo))
    sf.write(str(stereo), np.stack([x, x], 1), sr, format="FLAC")
    utts, bad = read_subset(ls, "train-clean-100")
    reasons = {b.utt_id: b.reason for b in bad}
    assert reasons[flac.stem].startswith("unreadable")
    assert reasons[stereo.stem] == "not mono (2 channels)"
    assert len(utts) == SIZES["train-clean-100"] - 2
    with pytest.raises(RecipeError, match=str(flac).replace(".", r"\.")):
        prepare(ls, corpora["demand"], tmp_path / "data")


def test_missing_subset_and_trans_file(corpora, tmp_path):
    with pytest.raises(RecipeError, match="train-clean-360 does not exist"):
        prepare(corpora["ls"], corpora["demand"], tmp_path / "d", train_subset="train-clean-360")
    ls = _copy_tree(corpora["ls"], tmp_path / "LS")
    trans = sorted((ls / "test-clean").rglob("*.trans.txt"))[0]
    trans.unlink()
    with pytest.raises(RecipeError, match=f"{trans.name} does not exist"):
        read_subset(ls, "test-clean")


def test_cli_errors_are_one_line(corpora, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "espnet2_ext.bin.prep_librispeech_demand",
         "--librispeech_root", str(corpora["ls"]), "--demand_root", str(tmp_path),
         "--data_dir", str(tmp_path / "data")],
        capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert r.returncode == 1
    assert "DEMAND environment(s) missing" in r.stderr and "DKITCHEN" in r.stderr
    assert "Traceback" not in r.stderr


# ------------------------------------------------------------------ phones
def test_lexicon_stress_alternates_and_oov(tmp_path):
    d = tmp_path / "dict"
    d.write_text(";;; a comment\nread R IY1 D\nread(2) R EH1 D\nthe DH AH0\n"
                 "the(2) DH IY0\nbook B UH1 K\n")
    lex = load_lexicon(d)
    assert lex == {"READ": ["R", "IY", "D"], "THE": ["DH", "AH"], "BOOK": ["B", "UH", "K"]}
    assert to_phones("read the book", lex) == (["R", "IY", "D", "DH", "AH", "B", "UH", "K"], [])
    assert to_phones("READ THE ZORBLAX", lex) == (["R", "IY", "D", "DH", "AH"], ["ZORBLAX"])
    assert token_list(["R IY D", "R EH D"], "word") == ["<blank>", "<unk>", "D", "R", "EH", "IY",
                                                        "<sos/eos>"]
    with pytest.raises(RecipeError, match="does not exist"):
        load_lexicon(tmp_path / "none")


@pytest.fixture(scope="module")
def cmudict():
    return load_lexicon(default_dict())


def test_pocketsphinx_cmudict_covers_an4(cmudict):
    lex = cmudict
    assert lex["HELLO"] == ["HH", "AH", "L", "OW"]
    assert all(not any(c.isdigit() for c in p) for ph in lex.values() for p in ph)
    shared = shared_or_skip()
    words = {w for _, _, t, _ in an4_utterances(shared / "an4") for w in t.split()}
    assert [w for w in sorted(words) if w not in lex] == []


def test_phone_dir_drops_oov_utterances(tmp_path, cmudict):
    src = tmp_path / "src"
    src.mkdir()
    (src / "wav.scp").write_text("s1-a /x/a.wav\ns1-b /x/b.wav\ns2-c /x/c.wav\n")
    (src / "text").write_text("s1-a HELLO WORLD\ns1-b HELLO QWXZZY\ns2-c YES\n")
    (src / "utt2spk").write_text("s1-a s1\ns1-b s1\ns2-c s2\n")
    (src / "utt2dur").write_text("s1-a 1.0\ns1-b 1.0\ns2-c 1.0\n")
    lex = cmudict
    assert make_phone_dir(src, tmp_path / "out", lex) == (2, 1)
    out = tmp_path / "out"
    assert check_data_dir(out) == []
    assert read_table(out / "text") == {"s1-a": "HH AH L OW W ER L D", "s2-c": "Y EH S"}
    assert read_table(out / "oov.txt") == {"s1-b": "QWXZZY"}
    (src / "text").write_text("s1-a QWXZZY\ns1-b QWXZZY\ns2-c QWXZZY\n")
    with pytest.raises(RecipeError, match="no utterance .* can be written in phones"):
        make_phone_dir(src, tmp_path / "out2", lex)


# ------------------------------------------------------------------ simulation
def test_simulation_with_per_set_noise_lists(corpora, tmp_path):
    prepare(corpora["ls"], corpora["demand"], tmp_path / "data")
    for s, part, want in (("train", "train", SEEN), ("test_unseen", "eval", UNSEEN)):
        d = tmp_path / "data" / s
        n = simulate(d, tmp_path / f"{s}_noisy", tmp_path / "wav" / s, part, [20.0, 10.0, 5.0],
                     noise_scp=d / "noise_sources.scp")
        assert n == len(read_table(d / "wav.scp"))
        noises = read_table(tmp_path / f"{s}_noisy" / "utt2noise")
        assert set(noises) == set(read_table(d / "wav.scp"))
        assert set(noises.values()) <= set(want)
        assert set(read_table(tmp_path / f"{s}_noisy" / "utt2snr").values()) <= {"20", "10", "5"}


# ------------------------------------------------------------------ report
def test_report_with_seen_unseen_columns_and_per(tmp_path):
    exp = tmp_path / "exp"
    fes = ["noisy", "base"]
    for s, v in (("test_seen", 1.0), ("test_unseen", 2.0)):
        for fe in ["clean"] + fes:
            if fe != "clean":
                p = exp / "scores" / s / fe / "summary.json"
                p.parent.mkdir(parents=True)
                p.write_text(json.dumps({"si_sdr": v, "pesq": 2.0, "stoi": 0.9, "estoi": 0.8}))
            for sub, name in (("asr_sphinx/" + s, "wer.json"),
                              (f"asr_superb/decode_{s}", "wer.json"),
                              (f"pr_superb/decode_{s}", "per.json")):
                p = exp / sub / fe / name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(json.dumps({"wer": 10 * v}))
            (exp / "asr_sphinx" / s / fe / ".done").write_text("sig\n")
        (exp / "scores" / s / ".done").write_text("sig\n")
    for task in ("asr_superb", "pr_superb"):  # several sets: one decoding step for all
        (exp / task / "decode_sets").mkdir()
        (exp / task / "decode_sets" / ".done").write_text("sig\n")
    layout = Layout(exp=exp, models=["base"], asr_sets=["test_seen", "test_unseen"],
                    tasks=["asr", "pr"])
    text = make_report(layout, tmp_path / "R.md", tmp_path / "c.png",
                       sphinx_desc="CMU dictionary and en-us LM")
    head = [l for l in text.splitlines() if l.startswith("|")][0]
    cols = [c.strip() for c in head.split("|")[1:-1]]
    assert cols[:3] == ["front-end", "SI-SDR [dB] (seen)", "SI-SDR [dB] (unseen)"]
    assert cols[-2:] == ["PER downstream [%] (seen)", "PER downstream [%] (unseen)"]
    assert len(cols) == 1 + 7 * 2
    row = [l for l in text.splitlines() if l.startswith("| base")][0]
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1:3] == ["1.00", "2.00"] and cells[-2:] == ["10.0", "20.0"]
    assert "CMU dictionary and en-us LM" in text and "PER downstream" in text
