"""AN4 reader and audio validation (stage 1)."""

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.recipe.corpora import an4 as an4mod
from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import check_data_dir, read_table

from recipe_helpers import make_an4, shared_or_skip


def test_transcription_formats(tmp_path):
    p = tmp_path / "t"
    p.write_text("<s> ONE TWO </s> (an1-fabc-b)\nyes (an2-fabc-b)\n"
                 "<s> <S> MARCH THIRD </S> </s> (cen8-fabc-b)\n")
    assert an4mod.read_transcription(p) == {"an1-fabc-b": "ONE TWO", "an2-fabc-b": "YES",
                                            "cen8-fabc-b": "MARCH THIRD"}
    p.write_text("no id here\n")
    with pytest.raises(RecipeError, match=r"t:1: cannot parse"):
        an4mod.read_transcription(p)


def test_speaker_first_id():
    assert an4mod.speaker_first_id("an104-mrcb-b", "mrcb") == "mrcb-an104-b"
    assert an4mod.speaker_first_id("cen8-fcaw-b", "fcaw") == "fcaw-cen8-b"


def test_prepare_writes_consistent_dirs(an4, tmp_path):
    sizes = an4mod.prepare(an4, tmp_path / "data", num_dev_spk=1)
    assert sizes == {"train": 4, "dev": 1, "test": 1}
    for s in ("train", "dev", "test"):
        assert check_data_dir(tmp_path / "data" / s) == []
    train = read_table(tmp_path / "data/train/utt2spk")
    dev = read_table(tmp_path / "data/dev/utt2spk")
    assert not set(train.values()) & set(dev.values())  # dev speakers held out
    assert read_table(tmp_path / "data/train/text")["fabc-an1-b"] == "YES"
    assert read_table(tmp_path / "data/test/text") == {"fxyz-an9-b": "REPEAT"}
    assert read_table(tmp_path / "data/test/utt2dur") == {"fxyz-an9-b": "1.000"}
    # deterministic
    sizes2 = an4mod.prepare(an4, tmp_path / "data2", num_dev_spk=1)
    assert (tmp_path / "data2/dev/wav.scp").read_text() == (tmp_path / "data/dev/wav.scp").read_text()
    assert sizes2 == sizes


def _break(root, kind):
    p = root / "wav/an4_clstk/mdef/an3-mdef-b.sph"
    if kind == "missing":
        p.unlink()
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "unreadable":
        p.write_bytes(b"this is not audio at all" * 10)
    elif kind == "short":
        sf.write(str(p), np.full(100, 0.1, np.float32), 16000, format="NIST", subtype="PCM_16")
    elif kind == "rate":
        sf.write(str(p), np.full(8000, 0.1, np.float32), 8000, format="NIST", subtype="PCM_16")
    elif kind == "stereo":
        sf.write(str(p), np.full((8000, 2), 0.1, np.float32), 16000, format="NIST", subtype="PCM_16")
    elif kind == "silent":
        sf.write(str(p), np.zeros(8000, np.float32), 16000, format="NIST", subtype="PCM_16")
    elif kind == "no_text":
        t = root / "etc/an4_train.transcription"
        t.write_text("".join(l + "\n" for l in t.read_text().splitlines() if "an3-mdef-b" not in l))


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("missing", "listed but missing"),
        ("empty", "empty"),
        ("unreadable", "unreadable"),
        ("short", "too short: 100 samples"),
        ("rate", "wrong sample rate 8000 Hz"),
        ("stereo", "not mono (2 channels)"),
        ("silent", "silent"),
        ("no_text", "no transcription"),
    ],
)
def test_bad_audio_is_reported_and_skippable(an4, tmp_path, kind, reason):
    _break(an4, kind)
    with pytest.raises(RecipeError) as e:
        an4mod.prepare(an4, tmp_path / "data", num_dev_spk=1)
    msg = str(e.value)
    assert "mdef-an3-b" in msg and reason in msg and "--skip_bad_audio true" in msg
    assert "1 AN4 utterance(s)" in msg
    sizes = an4mod.prepare(an4, tmp_path / "data", num_dev_spk=1, skip_bad_audio=True)
    assert sum(sizes.values()) == 5
    listed = (tmp_path / "data/bad_audio.txt").read_text()
    assert listed.startswith("mdef-an3-b ") and reason in listed
    for s in ("train", "dev", "test"):
        assert "mdef-an3-b" not in (tmp_path / "data" / s / "wav.scp").read_text()


def test_every_bad_file_is_named(an4, tmp_path):
    (an4 / "wav/an4_clstk/fabc/an1-fabc-b.sph").write_bytes(b"")
    (an4 / "wav/an4test_clstk/fxyz/an9-fxyz-b.sph").unlink()
    with pytest.raises(RecipeError) as e:
        an4mod.prepare(an4, tmp_path / "data", num_dev_spk=1)
    assert "fabc-an1-b" in str(e.value) and "fxyz-an9-b" in str(e.value)
    assert "2 AN4 utterance(s)" in str(e.value)


def test_cli_errors_are_one_line(an4, tmp_path, capsys):
    assert an4mod.cli(["--an4_root", str(tmp_path / "nope"), "--data_dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "is not an AN4 root" in err and "Traceback" not in err


def test_download_failure_is_clear(tmp_path, monkeypatch):
    def fail(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(an4mod.urllib.request, "urlopen", fail)
    with pytest.raises(RecipeError, match="could not download AN4 from http://www.speech.cs.cmu.edu"):
        an4mod.download_an4(tmp_path / "downloads")
    assert not list((tmp_path / "downloads").glob("*.part"))


def test_shared_an4(tmp_path):
    root = shared_or_skip() / "an4"
    sizes = an4mod.prepare(root, tmp_path / "data", num_dev_spk=3)
    assert sizes["test"] == 12 and sizes["train"] + sizes["dev"] == 61
    for s in ("train", "dev", "test"):
        assert check_data_dir(tmp_path / "data" / s) == []
