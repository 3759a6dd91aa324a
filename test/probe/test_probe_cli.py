"""``python -m espnet2_ext.bin.position_probe`` on the shared AN4 data with ``tiny``, and its errors."""

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from espnet2_ext.probe.cli import main, parse_layers
from espnet2_ext.probe.data import ProbeError
from helpers.env import REPO, subprocess_env

LOSSES = ["--loss", "ssl_mse", "--loss", "ssl_mse_pad", "--loss", "ssl_sdtw"]


def an4_data_dir(an4, out, n):
    """A Kaldi data dir (wav.scp + text) of the first ``n`` AN4 test utterances."""
    sph = sorted((an4 / "wav" / "an4test_clstk").glob("*/*.sph"))[:n]
    text = {}
    for line in (an4 / "etc" / "an4_test.transcription").read_text().splitlines():
        words, _, utt = line.rpartition(" (")
        text[utt.rstrip(")")] = words.strip()
    out.mkdir(parents=True, exist_ok=True)
    (out / "wav.scp").write_text("".join(f"{p.stem} {p}\n" for p in sph))
    (out / "text").write_text("".join(f"{p.stem} {text[p.stem]}\n" for p in sph))
    return out


def check_outputs(out, n_utts, layers, losses):
    res = json.loads((out / "probe.json").read_text())
    assert len(res["utterances"]) == n_utts and res["settings"]["layers"] == layers
    assert list(res["losses"]) == losses
    for name, entry in res["losses"].items():
        assert entry["train_mode"] is True
        assert set(entry["summary"]) == {str(l) for l in layers}
        for layer, summ in entry["summary"].items():
            for m in res["measures"]:
                s = summ[m]
                assert s["n"] == n_utts and math.isfinite(s["mean"]) and s["lo"] <= s["mean"] <= s["hi"]
                assert s["mean"] >= -1e-6, (name, layer, m)  # MSE and the soft-DTW divergence are >= 0
            assert summ["self"]["mean"] <= summ["envelope"]["mean"]  # the perfect output beats no content
            if name == "ssl_mse":
                assert summ["self"]["mean"] == 0
            idx = summ["index"]
            assert -1 < idx["lo"] <= idx["mean"] <= idx["hi"] <= 1
    md = (out / "probe.md").read_text()
    for name in losses:
        assert f"**{name}**" in md
    assert md.count("\n| 0 | ") == len(losses)  # one row per layer in every table
    png = (out / "probe.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    return res


def test_cli_tiny_on_an4(shared_data, tmp_path):
    data = an4_data_dir(shared_data / "an4", tmp_path / "data", 3)
    an4 = shared_data / "an4" / "etc"
    out = tmp_path / "probe"
    cmd = [sys.executable, "-m", "espnet2_ext.bin.position_probe", "--upstream", "tiny", "--layers", "0,2-3",
           "--data", str(data), *LOSSES, "--out", str(out), "--optimize_steps", "2", "--optimize_utts", "1",
           "--bootstrap", "200", "--sphinx_dict", str(an4 / "an4.dic"), "--sphinx_lm", str(an4 / "an4.ug.lm")]
    p = subprocess.run(cmd, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "position probe" in p.stderr and "3/3" in p.stderr  # the progress bar over utterances
    assert "ssl_sdtw index per layer" in p.stdout
    res = check_outputs(out, 3, [0, 2, 3], ["ssl_mse", "ssl_mse_pad", "ssl_sdtw"])
    opt = res["losses"]["ssl_mse"]["optimize"]
    assert opt["layer"] == 3 and opt["steps"] == 2 and opt["utterances"] == res["utterances"][:1]
    summ = opt["summary"]
    assert summ["loss_start"] > 0 and summ["logmel_start"] > 0 and 0 <= summ["wer_ref"] <= 100
    assert "WER clean" in (out / "probe.md").read_text()


# --------------------------------------------------------------------------- errors


def run_main(capsys, *argv):
    rc = main(list(argv))
    err = capsys.readouterr().err.strip()
    return rc, err


@pytest.fixture
def one_utt(shared_data, tmp_path):
    return an4_data_dir(shared_data / "an4", tmp_path / "one", 1)


def base(data, out):
    return ["--upstream", "tiny", "--data", str(data), "--loss", "ssl_mse", "--out", str(out), "--optimize_steps", "0"]


def test_error_unknown_upstream_and_layer(one_utt, tmp_path, capsys):
    rc, err = run_main(capsys, *base(one_utt, tmp_path / "o"), "--upstream", "no_such_model")
    assert rc == 1 and err.startswith("position_probe: error: --upstream 'no_such_model'") and "\n" not in err
    rc, err = run_main(capsys, *base(one_utt, tmp_path / "o"), "--layers", "0,7")
    assert rc == 1 and "--layers '0,7': layer index 7 out of range" in err and "0..3" in err and "\n" not in err
    rc, err = run_main(capsys, *base(one_utt, tmp_path / "o"), "--optimize_layer", "-5")
    assert rc == 1 and "--optimize_layer '-5': layer index -5 out of range" in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_error_empty_or_missing_data(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc, err = run_main(capsys, *base(tmp_path / "empty", tmp_path / "o"))
    assert rc == 1 and "has no wav.scp" in err
    (tmp_path / "empty" / "wav.scp").write_text("\n")
    rc, err = run_main(capsys, *base(tmp_path / "empty", tmp_path / "o"))
    assert rc == 1 and "no utterances in" in err
    rc, err = run_main(capsys, *base(tmp_path / "nowhere", tmp_path / "o"))
    assert rc == 1 and "does not exist" in err


def test_error_bad_audio_names_the_file_or_utterance(tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(300, dtype="float32"), 16000)
    slow = tmp_path / "8k.wav"
    sf.write(slow, np.zeros(8000, dtype="float32"), 8000)
    for line, expect in ((f"u1 {bad}", f"cannot read audio file {bad}"),
                         (f"utt-short {short}", "utterance utt-short"),
                         (f"u3 {slow}", f"{slow} is 8000 Hz"),
                         (f"u4 {tmp_path / 'missing.wav'}", "missing.wav"),
                         ("u5 sph2pipe -f wav x.sph |", "utterance u5: piped"),
                         (f"u6 {slow}\nu6 {short}", f"{tmp_path / 'wav.scp'}:2: duplicate key 'u6'"),
                         ("u7", "utterance u7 has no path")):
        scp = tmp_path / "wav.scp"
        scp.write_text(line + "\n")
        rc, err = run_main(capsys, *base(scp, tmp_path / "o"))
        assert rc == 1 and expect in err and "\n" not in err, (line, err)
    rc, err = run_main(capsys, *base(scp, tmp_path / "o"))
    assert "Traceback" not in err


def test_error_loss_options(one_utt, tmp_path, capsys):
    rc, err = run_main(capsys, *base(one_utt, tmp_path / "o"), "--gamma", "0.1")
    assert rc == 1 and "--gamma applies to none of the chosen losses" in err
    rc, err = run_main(capsys, *base(one_utt, tmp_path / "o"), "--loss", "ssl_sdtw", "--gamma", "-1")
    assert rc == 1 and "gamma must be > 0" in err
    rc, err = run_main(capsys, *base(one_utt, tmp_path / "o"), "--loss_conf", "ssl_mse={\"layers\": 3}")
    assert rc == 1 and "set by the probe" in err
    for flag, value, why in (("--loss_conf", "ssl_mse=[1]", "--loss_conf ssl_mse: expected a JSON object, got list"),
                             ("--loss_conf", "ssl_mse={", "--loss_conf ssl_mse: not valid JSON"),
                             ("--upstream_conf", "3", "--upstream_conf: expected a JSON object, got int"),
                             ("--upstream_conf", "{'a': 1}", "--upstream_conf: not valid JSON")):
        rc, err = run_main(capsys, *base(one_utt, tmp_path / "o"), flag, value)
        assert rc == 1 and why in err and "\n" not in err, (value, err)
    rc, err = run_main(capsys, *base(one_utt, tmp_path / "o"), "--shifts", "0,2")
    assert rc == 1 and "shifts" in err
    with pytest.raises(SystemExit) as e:  # argparse: unknown loss name
        main(base(one_utt, tmp_path / "o") + ["--loss", "ssl_foo"])
    assert e.value.code == 2


def test_parse_layers():
    assert parse_layers("all", 3) == [0, 1, 2, 3]
    assert parse_layers("last", 12) == [12]
    assert parse_layers("0,3-5,-1", 12) == [0, 3, 4, 5, 12]
    assert parse_layers(" 2-3, 3 ,-2", 4) == [2, 3]
    for bad, why in (("13", "layer index 13 out of range"), ("a", "'a' is not a layer index or range"),
                     ("5-3", "empty range '5-3'"), ("-14", "layer index -14 out of range"),
                     ("0-13", "layer index 13 out of range"), ("", "'' is not a layer index")):
        with pytest.raises(ProbeError, match=re.escape(why)):
            parse_layers(bad, 12)
    # one validation: the ranges expand to what espnet2_ext.ssl.parse_layers accepts and says
    from espnet2_ext.ssl import parse_layers as ssl_parse_layers

    with pytest.raises(ValueError) as ssl_err:
        ssl_parse_layers([0, 13], 12)
    with pytest.raises(ProbeError) as probe_err:
        parse_layers("0-13", 12, "--optimize_layer")
    assert str(probe_err.value) == f"--optimize_layer '0-13': {ssl_err.value}"


def test_cli_whisper_tiny_en_on_an4(shared_data, tmp_path):
    """The real pretrained upstream (weights from its pip package): files, ranges, and its layer-0 shortcut."""
    from espnet2_ext.ssl import SSLPackageError, SSLUpstream

    try:
        SSLUpstream("whisper_tiny_en")
    except SSLPackageError as e:  # the weights' pip package is an external requirement
        pytest.skip(str(e))
    data = an4_data_dir(shared_data / "an4", tmp_path / "data", 2)
    out = tmp_path / "probe"
    rc = main(["--upstream", "whisper_tiny_en", "--layers", "0,4", "--data", str(data), "--loss", "ssl_mse",
               "--loss", "ssl_sdtw", "--out", str(out), "--optimize_steps", "2", "--optimize_utts", "1",
               "--bootstrap", "200", "--progress", "false"])
    assert rc == 0
    res = check_outputs(out, 2, [0, 4], ["ssl_mse", "ssl_sdtw"])
    # layer 0 is the conv stem plus Whisper's absolute sinusoidal positions: frame MSE is mostly position there
    assert res["losses"]["ssl_mse"]["summary"]["0"]["index"]["mean"] > 0.5
