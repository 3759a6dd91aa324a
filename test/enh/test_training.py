"""ESPnet enh training through our entry points (tiny, CPU)."""

import json
import subprocess
import sys

import pytest
import torch

from helpers.env import subprocess_env
from helpers.enh_data import make_corpus
from helpers.enh_run import epoch_stats, run, tiny_enh_config, train_enh

pytestmark = pytest.mark.slow

TRAIN_LENS = [8000, 8320, 9100, 9600, 10240, 11000]
VALID_LENS = [8800, 9920]


@pytest.mark.parametrize(
    "wrapper,num_spk", [("fixed_order", 1), ("pit", 2), ("pit_given_perm", 2)]
)
def test_length_aware_criterion_receives_true_lengths(tmp_path, wrapper, num_spk):
    dirs = make_corpus(
        tmp_path / "data", {"train": TRAIN_LENS, "valid": VALID_LENS}, num_spk=num_spk
    )
    log = tmp_path / "probe.jsonl"
    probe = {"name": "length_probe", "conf": {}, "wrapper": wrapper,
             "wrapper_conf": {"weight": 1.0}}
    criterions = [probe]
    if wrapper == "pit_given_perm":
        # ESPnet's pit reusing an earlier wrapper's permutation calls the
        # criterion once per utterance (batch size 1)
        probe.update(wrapper="pit", wrapper_conf={"weight": 1.0, "independent_perm": False})
        criterions = [{"name": "si_snr", "conf": {}, "wrapper": "pit",
                       "wrapper_conf": {"weight": 1.0}}, probe]
    conf = tiny_enh_config(criterions, num_spk=num_spk, batch_size=3)
    work = tmp_path / "work"
    train_enh(work, dirs, conf, num_spk=num_spk,
              module="helpers.probe_train", env=subprocess_env(LENGTH_PROBE_LOG=log))
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    # collect_stats never computes the loss; training and validation do
    assert calls
    seen_train, seen_valid = set(), set()
    for c in calls:
        assert c["ctx"] is not None, "no lengths in the forward_loss context"
        if wrapper == "pit_given_perm":
            assert len(c["resolved"]) == 1 and c["resolved"][0] in c["ctx"]
            assert c["resolved"] == c["own"], "the length of another utterance"
            (seen_train if c["training"] else seen_valid).update(c["resolved"])
            continue
        assert c["resolved"] == c["ctx"]
        assert max(c["ctx"]) == c["T"]
        (seen_train if c["training"] else seen_valid).update(c["ctx"])
    assert seen_train == set(TRAIN_LENS)
    assert seen_valid == set(VALID_LENS)
    assert "not among the current forward_loss batch" not in (work / "train.stderr").read_text()
    if wrapper == "pit":
        # ESPnet's PIT: N! * N criterion calls per batch
        n_batches = sum(1 for c in calls if c["training"]) // 4
        assert n_batches == 2


def test_train_with_plugin_criterion_then_inference(tmp_path):
    dirs = make_corpus(tmp_path / "data", {"train": TRAIN_LENS, "valid": VALID_LENS})
    conf = tiny_enh_config(
        [{"name": "ssl_mse", "conf": {"upstream": "tiny"}, "wrapper": "fixed_order",
          "wrapper_conf": {"weight": 1.0}}]
    )
    # the full ESPnet path, with its collect_stats pass
    exp = train_enh(tmp_path / "work", dirs, conf, env=subprocess_env(), collect_stats=True)
    model = exp / "valid.loss.best.pth"
    assert model.exists()
    state = torch.load(model, map_location="cpu")
    # the frozen SSL encoder of the loss stays out of the SE checkpoint
    assert all(k.split(".")[0] in {"encoder", "separator", "decoder"} for k in state), (
        sorted({k.split(".")[0] for k in state})
    )
    optim_state = torch.load(
        exp / "checkpoint.pth", map_location="cpu", weights_only=False
    )["optimizers"][0]
    n_params = sum(p.numel() for p in state.values())
    n_optim = sum(v["exp_avg"].numel() for v in optim_state["state"].values())
    assert n_optim == n_params  # optimizer holds the SE model only

    # inference loads the trained model through our entry point ...
    out = tmp_path / "enhanced"
    run(
        [sys.executable, "-m", "espnet2_ext.bin.enh_inference",
         "--ngpu", "0", "--fs", "16000",
         "--data_path_and_name_and_type", f"{dirs['valid']}/wav.scp,speech_mix,sound",
         "--train_config", str(exp / "config.yaml"),
         "--model_file", str(model),
         "--output_dir", str(out)],
        env=subprocess_env(),
    )
    scp = (out / "spk1.scp").read_text().split("\n")
    assert len([s for s in scp if s.strip()]) == len(VALID_LENS)

    # ... and ESPnet's own API works after `import espnet2_ext`
    code = (
        "import espnet2_ext, torch\n"
        "from espnet2.bin.enh_inference import SeparateSpeech\n"
        f"s = SeparateSpeech(train_config=r'{exp / 'config.yaml'}', model_file=r'{model}')\n"
        "wav = s(torch.randn(1, 9000).numpy(), fs=16000)\n"
        "print(len(wav), wav[0].shape)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "1 (1, 9000)"


@pytest.fixture(scope="module")
def shared_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("ssl_training")
    lens = [9000 + 431 * i for i in range(8)]
    dirs = make_corpus(root / "data", {"train": lens, "valid": [9300, 10400, 11700]},
                       snr_db=0.0, seed=5)
    return root, dirs


@pytest.mark.parametrize("criterion", ["ssl_mse", "ssl_mse_pad", "ssl_sdtw"])
def test_short_training_decreases_validation_loss(shared_corpus, criterion):
    root, dirs = shared_corpus
    conf = tiny_enh_config(
        [{"name": criterion, "conf": {"upstream": "tiny"}, "wrapper": "fixed_order",
          "wrapper_conf": {"weight": 1.0}}],
        max_epoch=4,
        batch_size=4,
    )
    exp = train_enh(root / criterion, dirs, conf, env=subprocess_env())
    stats = epoch_stats(exp)
    valid = [stats[e]["valid"][criterion] for e in sorted(stats)]
    assert len(valid) == 4
    assert valid[-1] < valid[0], valid


def test_non_finite_loss_is_reported_with_utterance_ids_and_skipped(tmp_path):
    dirs = make_corpus(tmp_path / "data", {"train": TRAIN_LENS, "valid": VALID_LENS})
    conf = tiny_enh_config(
        [{"name": "length_probe", "conf": {}, "wrapper": "fixed_order",
          "wrapper_conf": {"weight": 1.0}}],
        batch_size=2, max_epoch=2, grad_clip=5.0,
    )
    env = subprocess_env(LENGTH_PROBE_LOG=tmp_path / "probe.jsonl",
                         LENGTH_PROBE_NAN_LENGTH=TRAIN_LENS[2])
    work = tmp_path / "work"
    exp = train_enh(work, dirs, conf, module="helpers.probe_train", env=env)
    # the poisoned utterance is named (ids of make_corpus are <set>_utt<index>)
    log = (work / "train.stderr").read_text()
    assert "non-finite loss" in log and "train_utt002" in log, log[-3000:]
    # ... and the model stays finite (ESPnet skipped those updates)
    state = torch.load(exp / "valid.loss.best.pth", map_location="cpu")
    assert all(bool(torch.isfinite(v).all()) for v in state.values())
    stats = epoch_stats(exp)
    assert len(stats) == 2
