"""Stages 1-3 of mini_an4/enh1 with the real pretrained upstream (Whisper tiny.en,
from its pip package, no network) on a few utterances: the fine-tuning runs
through the Whisper encoder, its loss is logged and falls in a range a real
encoder gives, and the encoder stays out of the SE model's checkpoint."""

import re

import numpy as np
import pytest
import soundfile as sf
import torch

from recipe_helpers import RECIPE, make_an4, make_recipe_dir, run_whole_recipe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    pytest.importorskip("whisper")
    tmp = tmp_path_factory.mktemp("whisper_ft")
    an4 = make_an4(tmp / "an4", n=24000)  # 5 training + 1 test utterance of 1.5 s
    noise = tmp / "noise"
    noise.mkdir()
    rng = np.random.default_rng(0)
    for name in ("hum", "hiss"):  # two noise recordings (20 s), split into train / eval parts
        sf.write(str(noise / f"{name}.wav"), (0.1 * rng.standard_normal(320000)).astype(np.float32), 16000)
    d = make_recipe_dir(tmp, RECIPE)
    args = ["--an4_root", str(an4), "--noise_dir", str(noise), "--conf_dir", "conf/tiny", "--num_dev_spk", "1",
            "--snrs", "5 10",
            "--upstream", "whisper_tiny_en", "--ssl_losses", "ssl_mse ssl_sdtw", "--seeds", "0",
            "--downstream_tasks", "", "--stop_stage", "3", "--nj", "1", "--train_threads", "1"]
    return run_whole_recipe(d, args)


def test_finetuning_through_whisper(recipe):
    d = recipe["dir"]
    for loss in ("ssl_mse", "ssl_sdtw"):
        md = d / "exp" / f"enh_{loss}_seed0"
        assert (md / ".done").is_file() and (md / "valid.loss.best.pth").exists()
        cfg = (md / "config.yaml").read_text()
        assert f"name: {loss}" in cfg and "upstream: whisper_tiny_en" in cfg and "seed: 0" in cfg
        log = (md / "train.log").read_text()
        values = [float(v) for v in re.findall(rf"\[valid\] {loss}=([0-9.e+-]+)", log)]
        assert len(values) == 2 and all(v > 0 for v in values)  # a real encoder: the output is not the clean speech
        state = torch.load(md / "valid.loss.best.pth", map_location="cpu")
        assert not [k for k in state if "positional_embedding" in k or "conv1" in k or "blocks." in k]
        assert sum(v.numel() for v in state.values()) < 1_000_000  # the TCN only, not Whisper's 8 M
    out = recipe["out"]
    assert "fine-tuning from exp/enh_base/valid.loss.best.pth (upstream whisper_tiny_en)" in out
    assert "2 of 2 run(s) of enh_train succeeded" in (d / "exp/log/finetune.log").read_text()
    assert "nltk" not in out.lower()  # no download attempt in the logs of an offline run
    print(f"\nstages 1-3 with whisper_tiny_en: {recipe['elapsed']:.0f} s")
