"""conf/tuning/*.yaml build with our entry point's parser and train a step."""

from pathlib import Path

import pytest
import torch
import yaml

import espnet2_ext  # noqa: F401
from espnet2_ext.tasks.enh import EnhancementTask

CONFS = sorted((Path(__file__).resolve().parents[2] / "conf" / "tuning").glob("*.yaml"))


def test_there_are_configs_for_each_variant():
    names = {c.stem for c in CONFS}
    assert {"enh_ssl_mse", "enh_ssl_mse_pad", "enh_ssl_sdtw"} <= names
    assert {"sep_gpit_ssl_mse", "sep_gpit_asr_embedding", "sep_gpit_ssl_sdtw"} <= names


@pytest.mark.parametrize("conf", CONFS, ids=[c.stem for c in CONFS])
def test_config_builds_and_trains_one_step(tmp_path, conf):
    cfg = yaml.safe_load(conf.read_text())
    # offline: the real upstream is only built on first use; run on `tiny`,
    # and shrink the separator so a CPU step is quick
    for c in cfg["criterions"]:
        if c["name"].startswith("ssl_"):
            assert c["conf"]["upstream"] != "tiny", "tuning configs name a real encoder"
            c["conf"]["upstream"] = "tiny"
    cfg["separator_conf"].update(layer=2, stack=1, bottleneck_dim=32, hidden_dim=32)
    cfg["encoder_conf"]["channel"] = cfg["decoder_conf"]["channel"] = 32
    path = tmp_path / conf.name
    path.write_text(yaml.safe_dump(cfg))
    parser = EnhancementTask.get_parser()
    args = parser.parse_args(["--config", str(path)])
    model = EnhancementTask.build_model(args)
    num_spk = cfg["separator_conf"]["num_spk"]
    B, T = 2, 12000
    batch = {
        "speech_mix": torch.randn(B, T),
        "speech_mix_lengths": torch.tensor([T, 10000]),
    }
    for s in range(num_spk):
        batch[f"speech_ref{s + 1}"] = torch.randn(B, T) * 0.5
        batch[f"speech_ref{s + 1}"][1, 10000:] = 0
    model.train()
    loss, stats, weight = model(**batch)
    assert torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None for p in model.parameters())
    main = cfg["criterions"][0]["name"]
    assert main in stats
    if num_spk > 1:
        assert "si_snr_guide" in stats
