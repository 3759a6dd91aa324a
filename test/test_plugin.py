"""The ESPnet plugin: registration, entry points, spawned workers."""

import pickle
import subprocess
import sys

import pytest

from helpers.env import subprocess_env

CHILD = (
    "import pickle, sys\n"
    "pickle.loads(sys.stdin.buffer.read())\n"
    "from espnet2.tasks.enh import criterion_choices, loss_wrapper_choices\n"
    "from espnet2.tasks.asr import frontend_choices\n"
    "print(sorted(n for n in ('ssl_mse', 'ssl_mse_pad', 'ssl_sdtw', 'gpit', 'ssl_weighted_sum')\n"
    "      if n in criterion_choices.classes or n in loss_wrapper_choices.classes\n"
    "      or n in frontend_choices.classes))\n"
)
ALL = ["gpit", "ssl_mse", "ssl_mse_pad", "ssl_sdtw", "ssl_weighted_sum"]


def test_import_registers_every_name():
    import espnet2_ext  # noqa: F401
    from espnet2.tasks.asr import frontend_choices
    from espnet2.tasks.enh import criterion_choices, loss_wrapper_choices

    from espnet2_ext.enh.loss.criterions.ssl import SSLSoftDTWLoss
    from espnet2_ext.enh.loss.wrappers.gpit import GuidedPITSolver
    from espnet2_ext.plugin import registered_names

    names = registered_names()
    assert set(names["criterions"]) == {"ssl_mse", "ssl_mse_pad", "ssl_sdtw"}
    for n in names["criterions"]:
        assert n in criterion_choices.choices()
    assert criterion_choices.get_class("ssl_sdtw") is SSLSoftDTWLoss
    assert loss_wrapper_choices.get_class("gpit") is GuidedPITSolver
    assert "ssl_weighted_sum" in frontend_choices.choices()
    # ESPnet's own names are untouched
    assert "si_snr" in criterion_choices.choices()
    assert "pit" in loss_wrapper_choices.choices()


def test_register_is_idempotent_and_wraps_model_once():
    import inspect

    import espnet2_ext
    from espnet2.enh.espnet_model import ESPnetEnhancementModel

    from espnet2_ext import plugin

    before = (ESPnetEnhancementModel.forward, ESPnetEnhancementModel.forward_loss)
    plugin._DONE = False  # force the whole registration to run again
    espnet2_ext.register()
    espnet2_ext.register()
    assert (ESPnetEnhancementModel.forward, ESPnetEnhancementModel.forward_loss) == before
    for fn in before:
        assert getattr(fn, "_espnet2_ext_hook", False)
    # ESPnet's signatures are kept (functools.wraps)
    assert "speech_lengths" in str(inspect.signature(before[1]))
    assert "speech_mix" in str(inspect.signature(before[0]))


def test_name_clash_is_refused():
    from espnet2.enh.loss.criterions.time_domain import SISNRLoss
    from espnet2.tasks.enh import criterion_choices

    from espnet2_ext.plugin import _add

    with pytest.raises(RuntimeError, match="already taken"):
        _add(criterion_choices, {"ssl_mse": SISNRLoss})


def _child_sees(payload: bytes) -> list:
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=payload,
        capture_output=True,
        env=subprocess_env(),
        check=True,
    )
    return eval(out.stdout.decode().strip().splitlines()[-1])


def test_spawned_ddp_worker_registers():
    """ESPnet's DDP launcher spawns ``mp.Process(target=cls.main_worker)``:
    the child unpickles that method; with our task class this registers."""
    from espnet2.tasks.enh import EnhancementTask as EspnetTask

    from espnet2_ext.tasks.asr import ASRTask
    from espnet2_ext.tasks.enh import EnhancementTask

    assert _child_sees(pickle.dumps(EnhancementTask.main_worker)) == ALL
    assert _child_sees(pickle.dumps(ASRTask.main_worker)) == ALL
    # control: ESPnet's own task class does not (so the test can fail)
    assert _child_sees(pickle.dumps(EspnetTask.main_worker)) == []


@pytest.mark.parametrize(
    "tool",
    ["enh_train", "enh_inference", "enh_scoring", "asr_train", "asr_inference",
     "enh_s2t_train", "pack"],
)
def test_entry_points_expose_espnet_tools(tool):
    import importlib

    ours = importlib.import_module(f"espnet2_ext.bin.{tool}")
    theirs = importlib.import_module(f"espnet2.bin.{tool}")
    assert callable(ours.main)
    # the same options as ESPnet's tool
    a = {x for act in ours.get_parser()._actions for x in act.option_strings}
    b = {x for act in theirs.get_parser()._actions for x in act.option_strings}
    assert a == b


def test_import_is_cheap_and_registers_when_espnet_loads():
    code = (
        "import sys, espnet2_ext\n"
        "from espnet2_ext.ops.soft_dtw import soft_dtw\n"
        "print(any(m == 'espnet2' or m.startswith('espnet2.') for m in sys.modules))\n"
        "from espnet2.tasks.enh import criterion_choices\n"
        "from espnet2.tasks.asr import frontend_choices\n"
        "print('ssl_sdtw' in criterion_choices.classes,"
        " 'ssl_weighted_sum' in frontend_choices.classes)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=subprocess_env(), check=True)
    lines = [x for x in out.stdout.splitlines() if x.strip()]
    # (ESPnet prints a notice about flash_attn on import: ignore other lines)
    assert lines[0] == "False" and lines[-1] == "True True", out.stdout


# as on a machine without the nltk resources g2p_en wants, and with no way out:
# a download attempt fails at once (and prints) instead of reaching the network
_NO_NLTK_DATA = (
    "import runpy, sys, nltk\n"
    "nltk.data.path[:] = []\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
)


def _run_offline(module: str) -> str:
    env = subprocess_env(http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
                         HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", _NO_NLTK_DATA, module, "--help"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--criterions" in out.stdout  # the tool really ran
    return out.stdout + out.stderr


def test_entry_point_tries_no_download():
    """ESPnet's own start tries to download nltk data (g2p_en's import); ours does not."""
    theirs = _run_offline("espnet2.bin.enh_train")
    assert "[nltk_data]" in theirs  # the control: the attempt happens without espnet2_ext
    ours = _run_offline("espnet2_ext.bin.enh_train")
    assert "nltk_data" not in ours and "download" not in ours.lower(), ours[-2000:]
