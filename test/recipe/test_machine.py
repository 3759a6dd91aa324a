"""The numeric environment line (espnet2_ext.recipe.common.machine): what it
names, how the report reads it back from the models' log headers, and that
it says so when the models were trained in different environments."""

import torch

from espnet2_ext.recipe.common import machine
from espnet2_ext.recipe.report import text
from espnet2_ext.recipe.steps.layout import Layout


def test_describe_names_cpu_torch_and_the_pinning_variables(monkeypatch):
    monkeypatch.delenv("MKL_CBWR", raising=False)
    line = machine.describe()
    assert line.startswith(machine.cpu_model())
    assert f"torch {torch.__version__} (ATen {torch.backends.cpu.get_cpu_capability()}" in line
    assert "MKL_CBWR" not in line
    monkeypatch.setenv("MKL_CBWR", "AVX2")
    assert "; MKL_CBWR=AVX2" in machine.describe()
    assert machine.header_line().startswith("# Numeric environment: ")


def test_header_line_never_raises(monkeypatch):
    def broken():
        raise RuntimeError("no cpuinfo")

    monkeypatch.setattr(machine, "describe", broken)
    assert machine.header_line() == "# Numeric environment: unknown (RuntimeError: no cpuinfo)"


def _log(path, env, body="1epoch results: [valid] loss=1.0"):
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "# python -m espnet2_ext.bin.enh_train\n# Started at now\n"
    if env:
        head += f"{machine.PREFIX}{env}\n"
    path.write_text(head + "#\n" + body + "\n")


def test_environments_of_reads_the_header_only(tmp_path):
    _log(tmp_path / "a.log", "CPU A; torch 1")
    _log(tmp_path / "b.log", "CPU A; torch 1")
    _log(tmp_path / "c.log", "")  # an older log without the line
    (tmp_path / "d.log").write_text("\n" * 20 + machine.PREFIX + "CPU late\n")  # not in the header
    logs = [tmp_path / n for n in ("a.log", "b.log", "c.log", "d.log", "missing.log")]
    assert machine.environments_of(logs) == ["CPU A; torch 1"]


def test_report_names_one_or_several_training_environments(tmp_path):
    layout = Layout(exp=tmp_path, models=["base", "ssl_mse"], seeds=[0, 1])
    assert text.training_environments(layout) == ""  # no log names one
    for m in layout.models:
        _log(layout.model_dir(m) / "train.log", "CPU A; torch 1")
    assert text.training_environments(layout) == "Numeric environment of the trainings: CPU A; torch 1."
    # seed 1 resumed on another machine: its older log keeps the first environment
    d = layout.model_dir("ssl_mse_seed1")
    (d / "train.log").rename(d / "train.log.1700000000")
    _log(d / "train.log", "CPU B; torch 1")
    out = text.training_environments(layout)
    assert "trained in 2 numeric environments" in out
    assert "- CPU A; torch 1: base, ssl_mse_seed0, ssl_mse_seed1" in out
    assert "- CPU B; torch 1: ssl_mse_seed1" in out


def test_a_given_base_model_is_not_counted(tmp_path):
    layout = Layout(exp=tmp_path, models=["base", "ssl_mse"], init_param="/elsewhere/model.pth")
    _log(layout.model_dir("base") / "train.log", "CPU old")
    _log(layout.model_dir("ssl_mse") / "train.log", "CPU A")
    assert text.training_environments(layout) == "Numeric environment of the trainings: CPU A."
