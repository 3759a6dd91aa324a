"""Config helpers of the stage script: the upstream in a config copy
(espnet2_ext.recipe.config.edit), token lists and shapes of the downstream
tasks (espnet2_ext.recipe.downstream.tokens), through their bin tools."""

import numpy as np
import soundfile as sf
import yaml

import subprocess
import sys

from espnet2_ext.recipe.config import edit
from espnet2_ext.recipe.downstream import tokens

from helpers.env import subprocess_env


def config_tool(*args):
    return subprocess.run([sys.executable, "-m", "espnet2_ext.bin.recipe_config", *map(str, args)],
                          capture_output=True, text=True, env=subprocess_env(), timeout=60)


def test_set_upstream_criterions_and_frontend(tmp_path):
    src = tmp_path / "in.yaml"
    src.write_text(yaml.safe_dump({
        "criterions": [
            {"name": "ssl_sdtw", "conf": {"upstream": "tiny", "gamma": 0.1}},
            {"name": "si_snr", "conf": {"eps": 1e-7}},
        ],
        "max_epoch": 3,
    }))
    out = tmp_path / "out.yaml"
    assert edit.main_set_upstream(["--in", str(src), "--out", str(out),
                                   "--upstream", "hubert_base", "--set", "max_epoch=5"]) == 0
    cfg = yaml.safe_load(out.read_text())
    assert cfg["criterions"][0]["conf"] == {"upstream": "hubert_base", "gamma": 0.1}
    assert "upstream" not in cfg["criterions"][1]["conf"]
    assert cfg["max_epoch"] == 5
    mtime = out.stat().st_mtime_ns
    assert config_tool("set_upstream", "--in", src, "--out", out, "--upstream", "hubert_base",
                       "--set", "max_epoch=5").returncode == 0
    assert out.stat().st_mtime_ns == mtime  # unchanged content: file untouched

    asr = {"frontend": "ssl_weighted_sum", "frontend_conf": {"upstream": "tiny"}}
    n = edit.set_upstream(asr, "wavlm_base_plus")
    assert n == 1 and asr["frontend_conf"]["upstream"] == "wavlm_base_plus"


def test_set_upstream_errors(tmp_path):
    src = tmp_path / "in.yaml"
    src.write_text("criterions:\n- name: si_snr\n")
    r = config_tool("set_upstream", "--in", src, "--out", tmp_path / "o", "--upstream", "x")
    assert r.returncode == 1 and "no ssl_* criterion" in r.stderr
    assert config_tool("set_upstream", "--in", src, "--out", tmp_path / "o", "--upstream", "x",
                       "--require", "false").returncode == 0
    src.write_text("a: [1,\n")
    r = config_tool("set_upstream", "--in", src, "--out", tmp_path / "o", "--upstream", "x")
    assert r.returncode == 1 and "not valid YAML" in r.stderr and "Traceback" not in r.stderr


def one_utterance_dir(d, samples, text):
    """A data dir of one utterance ``u1`` of ``samples`` zeros, transcribed ``text``."""
    d.mkdir()
    sf.write(d / "a.wav", np.zeros(samples, np.float32), 16000)
    (d / "wav.scp").write_text(f"u1 {d / 'a.wav'}\n")
    (d / "text").write_text(f"u1 {text}\n")
    return d


def test_char_tokens_and_shapes(tmp_path):
    assert tokens.token_list(["AB A", "B"], "char") == ["<blank>", "<unk>", "A", "B", "<space>", "<sos/eos>"]
    d = one_utterance_dir(tmp_path / "data", 1234, "AB A")
    tok = tmp_path / "tokens.txt"
    assert config_tool("char_tokens", "--text", d / "text", "--out", tok).returncode == 0
    # by decreasing count, ties in byte order
    assert tok.read_text().split() == ["<blank>", "<unk>", "A", "<space>", "B", "<sos/eos>"]
    assert config_tool("asr_shapes", "--data_dir", d, "--token_list", tok,
                       "--out_dir", tmp_path / "st").returncode == 0
    assert (tmp_path / "st/speech_shape").read_text() == "u1 1234\n"
    assert (tmp_path / "st/text_shape").read_text() == "u1 4\n"
    assert (tmp_path / "st/text_shape.char").read_text() == "u1 4,6\n"


def test_word_tokens_and_shapes(tmp_path):
    """Phone targets are word tokens: the same tools, --token_type word."""
    d = one_utterance_dir(tmp_path / "phn", 800, "HH AH L OW")
    tok = tmp_path / "phones.txt"
    assert tokens.main_tokens(["--text", str(d / "text"), "--out", str(tok), "--token_type", "word"]) == 0
    assert tok.read_text().split() == ["<blank>", "<unk>", "AH", "HH", "L", "OW", "<sos/eos>"]
    assert tokens.cli(["shapes", "--data_dir", str(d), "--token_list", str(tok), "--token_type", "word",
                       "--out_dir", str(tmp_path / "st")]) == 0
    assert (tmp_path / "st/text_shape.word").read_text() == "u1 4,7\n"
    assert tokens.cli(["shapes", "--data_dir", str(d), "--token_list", str(tmp_path / "none"),
                       "--out_dir", str(tmp_path / "x")]) == 1  # a clear error, not a traceback
