"""A training killed mid-epoch resumes and reaches the uninterrupted result."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from helpers.env import subprocess_env
from helpers.enh_data import make_corpus
from helpers.enh_run import _data_args, run, tiny_enh_config

pytestmark = pytest.mark.slow

LENS = [8000 + 397 * i for i in range(6)]


def _cmd(work, dirs):
    conf = tiny_enh_config(
        [
            # training-time randomness (random padding) must resume identically
            {"name": "ssl_mse_pad", "conf": {"upstream": "tiny"},
             "wrapper": "fixed_order", "wrapper_conf": {"weight": 1.0}},
            # weight 0: computed, not trained on; slows each step down
            {"name": "length_probe", "conf": {}, "wrapper": "fixed_order",
             "wrapper_conf": {"weight": 0.0}},
        ],
        max_epoch=3,
        batch_size=2,
    )
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(conf))
    cmd = [sys.executable, "-m", "helpers.probe_train", "--config",
           str(work / "config.yaml"), "--ngpu", "0", "--resume", "true",
           "--output_dir", str(work / "exp"),
           "--train_shape_file", str(dirs["train"] / "utt2len"),
           "--valid_shape_file", str(dirs["valid"] / "utt2len")]
    return cmd + _data_args("train", dirs["train"], 1) + _data_args("valid", dirs["valid"], 1)


def test_killed_training_resumes_to_the_same_model(tmp_path):
    dirs = make_corpus(tmp_path / "data", {"train": LENS, "valid": [9000, 9500]})
    env = subprocess_env(LENGTH_PROBE_LOG=tmp_path / "probe.jsonl")

    ref = tmp_path / "uninterrupted"
    run(_cmd(ref, dirs), env=env)

    work = tmp_path / "killed"
    slow = dict(env, LENGTH_PROBE_SLEEP="0.5")
    proc = subprocess.Popen(_cmd(work, dirs), env=slow, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 240
        # wait until epoch 1 is checkpointed, then kill inside epoch 2
        while not (work / "exp" / "1epoch.pth").exists():
            assert proc.poll() is None, "training ended before it could be killed"
            assert time.time() < deadline, "epoch 1 never finished"
            time.sleep(0.2)
        time.sleep(1.0)
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (work / "exp" / "3epoch.pth").exists()
    assert not (work / "exp" / "2epoch.pth").exists()

    # the same command again resumes from the last checkpoint: it trains
    # epochs 2 and 3 only (3 batches each)
    rerun_log = tmp_path / "rerun.jsonl"
    out = run(_cmd(work, dirs), env=dict(env, LENGTH_PROBE_LOG=str(rerun_log)))
    assert "The training was resumed using" in out.stderr
    calls = [json.loads(x) for x in rerun_log.read_text().splitlines()]
    assert sum(c["training"] for c in calls) == 2 * 3

    a = torch.load(ref / "exp" / "3epoch.pth", map_location="cpu")
    b = torch.load(work / "exp" / "3epoch.pth", map_location="cpu")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
