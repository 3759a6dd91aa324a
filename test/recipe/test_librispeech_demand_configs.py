"""The one-GPU configs of egs2/librispeech_demand/enh1 are valid ESPnet configs:
every key is accepted by the task's parser, the model builds and one training
step runs (offline: the upstream replaced by ``tiny``, the sizes shrunk)."""

from pathlib import Path

import pytest
import yaml

from recipe_helpers import REPO

CONF = REPO / "egs2" / "librispeech_demand" / "enh1" / "conf"
ENH = sorted(CONF.glob("enh_*.yaml"))
DOWN = [CONF / "asr_superb.yaml", CONF / "pr_superb.yaml"]
# built and stepped (the other configs differ from these only in parts the
# recipe test runs with conf/tiny; all are parsed below)
BUILD_ENH = [CONF / "enh_base.yaml", CONF / "enh_finetune_ssl_sdtw.yaml"]
BUILD_DOWN = [CONF / "pr_superb.yaml"]


def test_defaults_are_the_papers():
    for c in ENH:
        cfg = yaml.safe_load(c.read_text())
        ups = [x["conf"]["upstream"] for x in cfg["criterions"] if x["name"].startswith("ssl_")]
        assert ups == ([] if c.stem == "enh_base" else ["hubert_base"]), c
    for c in DOWN:
        cfg = yaml.safe_load(c.read_text())
        assert cfg["frontend"] == "ssl_weighted_sum"
        assert cfg["frontend_conf"]["upstream"] == "hubert_base"


def test_every_key_is_espnet_s(tmp_path):
    import espnet2_ext  # noqa: F401
    from espnet2_ext.tasks.asr import ASRTask
    from espnet2_ext.tasks.enh import EnhancementTask

    for c in ENH:
        EnhancementTask.get_parser().parse_args(["--config", str(c)])
    for c in DOWN:
        ASRTask.get_parser().parse_args(["--config", str(c), "--token_list", "x"])


@pytest.mark.parametrize("conf", BUILD_ENH, ids=[c.stem for c in BUILD_ENH])
def test_enh_config_builds_and_trains_one_step(tmp_path, conf):
    import torch

    import espnet2_ext  # noqa: F401
    from espnet2_ext.tasks.enh import EnhancementTask

    cfg = yaml.safe_load(conf.read_text())
    for c in cfg["criterions"]:
        if c["name"].startswith("ssl_"):
            c["conf"]["upstream"] = "tiny"
    cfg["separator_conf"].update(layer=2, stack=1, bottleneck_dim=16, hidden_dim=16)
    path = tmp_path / conf.name
    path.write_text(yaml.safe_dump(cfg))
    args = EnhancementTask.get_parser().parse_args(["--config", str(path)])
    assert args.iterator_type == "chunk" and args.chunk_length == 64000
    model = EnhancementTask.build_model(args)
    T = 8000
    batch = {"speech_mix": torch.randn(2, T), "speech_mix_lengths": torch.tensor([T, T - 800]),
             "speech_ref1": torch.randn(2, T) * 0.5}
    model.train()
    loss, _, _ = model(**batch)
    assert torch.isfinite(loss)
    loss.backward()


@pytest.mark.parametrize("conf", BUILD_DOWN, ids=[c.stem for c in BUILD_DOWN])
def test_downstream_config_builds_and_trains_one_step(tmp_path, conf):
    import torch

    import espnet2_ext  # noqa: F401
    from espnet2_ext.tasks.asr import ASRTask

    cfg = yaml.safe_load(conf.read_text())
    cfg["frontend_conf"]["upstream"] = "tiny"
    cfg["encoder_conf"].update(hidden_size=16, output_size=16)
    path = tmp_path / conf.name
    path.write_text(yaml.safe_dump(cfg))
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("<blank>\n<unk>\nAH\nB\nK\n<sos/eos>\n")
    ttype = "word" if conf.stem.startswith("pr") else "char"
    args = ASRTask.get_parser().parse_args(
        ["--config", str(path), "--token_list", str(tokens), "--token_type", ttype])
    model = ASRTask.build_model(args)
    T = 16000
    batch = {"speech": torch.randn(2, T) * 0.1, "speech_lengths": torch.tensor([T, T - 1600]),
             "text": torch.tensor([[2, 3, 4], [3, 2, -1]]), "text_lengths": torch.tensor([3, 2])}
    model.train()
    loss, _, _ = model(**batch)
    assert torch.isfinite(loss)
    loss.backward()
