"""Whisper as the independent recognizer of stage 6: the normalisation both sides
go through (AN4 spells out what Whisper writes as digits), the refusal of the
losses' own encoder, and real transcriptions of AN4 clips (weights from the
installed pip package, no network)."""

import json
import subprocess
import sys

import pytest

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.scoring import wer

from helpers.env import subprocess_env
from recipe_helpers import shared_or_skip

whisper_norm = pytest.importorskip("espnet2_ext.recipe.scoring.whisper")
pytest.importorskip("whisper")


@pytest.mark.parametrize("an4, whisper_text", [
    ("ELEVEN TWENTY SEVEN FIFTY SEVEN", "11, 27, 57."),
    ("ONE FIFTY", "150."),
    ("OCTOBER TWENTY FOUR NINETEEN SEVENTY", "October 24, 1970."),
    ("ONE FIVE OH FOUR FOUR", "15044"),
    ("P I T T S B U R G H", "Pittsburgh."),
    ("P I T T S B U R G H", "P-I-T-T-S-B-U-R-G-H"),
    ("ERASE C K C W FOURTEEN EIGHTY FIVE", "Erase CKCW 1485."),
    ("ERASE O T H F I FIVE ZERO", "Erase O-T-H-F-I, 50."),  # a spelled O is not zero
    ("RUBOUT T G J W B SEVENTY NINE FIFTY NINE", "Rubout TGJWB 7959"),
    ("MARCH THIRD NINETEEN TWENTY EIGHT", "March 3rd, 1928"),
    ("ONE HUNDRED", "100"),
    ("GO", "Go!"),
    ("REPEAT", "repeat."),
])
def test_normalisation_makes_an4_and_whisper_agree(an4, whisper_text):
    assert whisper_norm.normalize(an4) == whisper_norm.normalize(whisper_text)


def test_normalisation_keeps_differences():
    n = whisper_norm.normalize
    assert n("ELEVEN TWENTY SEVEN") == "1 1 2 7"  # one word per digit
    assert n("ELEVEN TWENTY SEVEN") != n("11 28")
    assert n("I want a dog, don't I?") == "i want a dog do not i"  # single words stay words
    r = wer.wer_tables({"a": "ELEVEN TWENTY SEVEN", "b": "P I T T S B U R G H"},
                       {"a": "11, 28.", "b": "Pittsburgh"}, whisper_norm.normalize)
    assert (r["wer"], r["ref_words"]) == (20.0, 5.0)  # 1 digit of 5 words wrong
    assert r["per_utt"]["a"] == {"errors": 1, "words": 4, "ref": "1 1 2 7", "hyp": "1 1 2 8"}


def test_recognizer_must_not_be_the_upstream(tmp_path):
    whisper_norm.check_recognizer("whisper_base", "whisper_tiny_en")
    with pytest.raises(RecipeError, match="is the upstream the losses were computed with"):
        whisper_norm.check_recognizer("whisper_tiny_en", "whisper_tiny_en")
    with pytest.raises(RecipeError, match="unknown Whisper recognizer 'whisper_large'"):
        whisper_norm.check_recognizer("whisper_large")
    (tmp_path / "wav.scp").write_text("u1 /nowhere.wav\n")
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.asr_whisper", "decode", "--wav_scp",
                        str(tmp_path / "wav.scp"), "--out_dir", str(tmp_path / "o"), "--model", "whisper_base",
                        "--loss_upstream", "whisper_base"], capture_output=True, text=True, env=subprocess_env(),
                       timeout=120)
    assert r.returncode == 1 and "an independent recognizer must be another model" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_whisper_base_on_real_an4_clips(tmp_path):
    """whisper_base (the recipes' recognizer) on two AN4 test clips: after the
    normalisation its words are AN4's own, WER 0."""
    an4 = shared_or_skip() / "an4"
    clips = {"cen8-mmxg-b": ("mmxg", "OCTOBER TWENTY FOUR NINETEEN SEVENTY"),
             "cen3-fjlp-b": ("fjlp", "ONE FIFTY")}
    (tmp_path / "wav.scp").write_text("".join(
        f"{u} {an4}/wav/an4test_clstk/{spk}/{u}.sph\n" for u, (spk, _) in clips.items()))
    (tmp_path / "text").write_text("".join(f"{u} {t}\n" for u, (_, t) in clips.items()))
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.asr_whisper", "decode", "--wav_scp",
                        str(tmp_path / "wav.scp"), "--out_dir", str(tmp_path / "o"), "--model", "whisper_base",
                        "--loss_upstream", "whisper_tiny_en"], capture_output=True, text=True,
                       env=subprocess_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    hyp = (tmp_path / "o" / "text").read_text()
    assert "1970" in hyp or "nineteen seventy" in hyp.lower()
    res = wer.score_files(tmp_path / "text", tmp_path / "o" / "text", tmp_path / "wer.json",
                          whisper_norm.normalize)
    assert res["wer"] == 0.0, res["per_utt"]
    assert json.loads((tmp_path / "wer.json").read_text())["num_utts"] == 2
