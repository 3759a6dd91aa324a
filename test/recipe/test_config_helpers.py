"""Config helpers of the stage script (espnet2_ext.recipe.config)."""

import numpy as np
import soundfile as sf
import yaml

from espnet2_ext.recipe import config


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
    assert config.cli(["set_upstream", "--in", str(src), "--out", str(out),
                       "--upstream", "hubert_base", "--set", "max_epoch=5"]) == 0
    cfg = yaml.safe_load(out.read_text())
    assert cfg["criterions"][0]["conf"] == {"upstream": "hubert_base", "gamma": 0.1}
    assert "upstream" not in cfg["criterions"][1]["conf"]
    assert cfg["max_epoch"] == 5
    mtime = out.stat().st_mtime_ns
    config.cli(["set_upstream", "--in", str(src), "--out", str(out), "--upstream", "hubert_base",
                "--set", "max_epoch=5"])
    assert out.stat().st_mtime_ns == mtime  # unchanged content: file untouched

    asr = {"frontend": "ssl_weighted_sum", "frontend_conf": {"upstream": "tiny"}}
    n = config.set_upstream(asr, "wavlm_base_plus")
    assert n == 1 and asr["frontend_conf"]["upstream"] == "wavlm_base_plus"


def test_set_upstream_errors(tmp_path, capsys):
    src = tmp_path / "in.yaml"
    src.write_text("criterions:\n- name: si_snr\n")
    assert config.cli(["set_upstream", "--in", str(src), "--out", str(tmp_path / "o"),
                       "--upstream", "x"]) == 1
    assert "no ssl_* criterion" in capsys.readouterr().err
    src.write_text("a: [1,\n")
    assert config.cli(["set_upstream", "--in", str(src), "--out", str(tmp_path / "o"),
                       "--upstream", "x"]) == 1
    assert "not valid YAML" in capsys.readouterr().err


def test_char_tokens_and_shapes(tmp_path):
    assert config.char_tokens(["AB A", "B"]) == ["<blank>", "<unk>", "A", "B", "<space>", "<sos/eos>"]
    d = tmp_path / "data"
    d.mkdir()
    sf.write(tmp_path / "a.wav", np.zeros(1234, np.float32), 16000)
    (d / "wav.scp").write_text(f"u1 {tmp_path / 'a.wav'}\n")
    (d / "text").write_text("u1 AB A\n")
    tok = tmp_path / "tokens.txt"
    assert config.cli(["char_tokens", "--text", str(d / "text"), "--out", str(tok)]) == 0
    # by decreasing count, ties in byte order
    assert tok.read_text().split() == ["<blank>", "<unk>", "A", "<space>", "B", "<sos/eos>"]
    assert config.cli(["asr_shapes", "--data_dir", str(d), "--token_list", str(tok),
                       "--out_dir", str(tmp_path / "st")]) == 0
    assert (tmp_path / "st/speech_shape").read_text() == "u1 1234\n"
    assert (tmp_path / "st/text_shape").read_text() == "u1 4\n"
    assert (tmp_path / "st/text_shape.char").read_text() == "u1 4,6\n"
