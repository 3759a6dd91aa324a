"""Run ESPnet enhancement training/inference through our entry points."""

import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import yaml


def tiny_enh_config(criterions: List[dict], num_spk: int = 1, **overrides) -> dict:
    """A small STFT/BLSTM-mask model that trains in seconds on CPU."""
    conf = {
        "encoder": "stft",
        "encoder_conf": {"n_fft": 256, "hop_length": 128},
        "decoder": "stft",
        "decoder_conf": {"n_fft": 256, "hop_length": 128},
        "separator": "rnn",
        "separator_conf": {
            "rnn_type": "blstm",
            "num_spk": num_spk,
            "nonlinear": "sigmoid",
            "layer": 1,
            "unit": 32,
            "dropout": 0.0,
        },
        "criterions": criterions,
        "optim": "adam",
        "optim_conf": {"lr": 0.003},
        "max_epoch": 1,
        "batch_type": "folded",
        "batch_size": 2,
        "fold_length": [160000],
        "num_workers": 0,
        "seed": 0,
        "use_tensorboard": False,
        "use_matplotlib": False,
        "best_model_criterion": [["valid", "loss", "min"]],
        "keep_nbest_models": 1,
    }
    conf.update(overrides)
    return conf


def _data_args(split: str, d: Path, num_spk: int) -> List[str]:
    args = [f"--{split}_data_path_and_name_and_type", f"{d}/wav.scp,speech_mix,sound"]
    for s in range(num_spk):
        args += [
            f"--{split}_data_path_and_name_and_type",
            f"{d}/spk{s + 1}.scp,speech_ref{s + 1},sound",
        ]
    return args


def run(cmd: List[str], env: Optional[dict] = None, cwd=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(
            f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-8000:]}"
        )
    return proc


def train_enh(
    work: Path,
    dirs: Dict[str, Path],
    config: dict,
    num_spk: int = 1,
    module: str = "espnet2_ext.bin.enh_train",
    env: Optional[dict] = None,
    extra: Optional[List[str]] = None,
    collect_stats: bool = False,
) -> Path:
    """Training (after ESPnet's collect_stats pass when ``collect_stats``).

    Returns the experiment directory ``work/exp``; the training's stderr
    (ESPnet's log) is kept in ``work/train.stderr``.
    """
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    common = [sys.executable, "-m", module, "--config", str(cfg), "--ngpu", "0"]
    common += _data_args("train", dirs["train"], num_spk)
    common += _data_args("valid", dirs["valid"], num_spk)
    if collect_stats:
        stats = work / "stats"
        run(
            common
            + [
                "--collect_stats", "true",
                "--output_dir", str(stats),
                "--train_shape_file", f"{dirs['train']}/utt2len",
                "--valid_shape_file", f"{dirs['valid']}/utt2len",
            ],
            env=env,
        )
        shapes = [stats / "train" / "speech_mix_shape", stats / "valid" / "speech_mix_shape"]
    else:
        # for 1-channel audio ESPnet's shape files are `utt length`: utt2len
        shapes = [dirs["train"] / "utt2len", dirs["valid"] / "utt2len"]
    exp = work / "exp"
    proc = run(
        common
        + [
            "--output_dir", str(exp),
            "--train_shape_file", str(shapes[0]),
            "--valid_shape_file", str(shapes[1]),
        ]
        + list(extra or []),
        env=env,
    )
    (work / "train.stderr").write_text(proc.stderr)
    return exp


def epoch_stats(exp: Path) -> dict:
    """ESPnet's per-epoch reporter stats from ``exp/checkpoint.pth``."""
    import torch

    ckpt = torch.load(Path(exp) / "checkpoint.pth", map_location="cpu", weights_only=False)
    return ckpt["reporter"]["stats"]
