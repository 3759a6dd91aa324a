"""The on-disk layout of a recipe run, for N speakers (N = 1: enhancement).

==========================================  ======================================
``data/<set>/``                             clean data dir (stage 1), marker
                                            ``data/.stage1.done``
``data/<set>_noisy/``                       mixtures (stage 2): ``wav.scp``,
                                            ``spk{n}.scp``, ``dereverb{n}.scp``,
                                            ``text_spk{n}``; marker ``data/.stage2.done``
``exp/enh_stats/``                          shape statistics (stage 3)
``exp/enh_<model>/``                        a trained model: ``config.yaml``,
                                            ``valid.loss.best.pth``, ``train.log``;
                                            a fine-tuned model is ``<loss>_seed<n>``
``exp/enh_configs/enh_finetune_<loss>.yaml``  fine-tune config with the run's upstream
``exp/enhanced/<model>/<set>/spk{n}.scp``   a model's outputs (stage 4)
``exp/scores/<set>/<front-end>/``           signal scores (stage 5), one marker per set
``exp/repr/<set>/<front-end>/``             representation distances (stage 5), one
                                            marker per set
``exp/asr_sphinx/<set>/<front-end>/``       independent ASR (stage 6), one marker each
``exp/asr_whisper/<set>/<front-end>/``      Whisper (stage 6), one marker per set
                                            (``exp/asr_whisper/<set>/.done``)
``exp/{asr,pr}_superb/``                    downstream model (stage 7); results in
                                            ``decode_<set>/<front-end>/{wer,per}.json``
                                            (several sets: one marker in ``decode_sets/``)
``exp/position_probe/``                     the positional-shortcut probe (stage 8)
``exp/passes/``, ``exp/report/``            stage 8
==========================================  ======================================

Front-ends: ``clean`` (the speech before mixing), the unprocessed input
(``noisy``, or ``mixture`` for N >= 2), then each model.  With ``seeds``,
every fine-tuning loss of ``models`` is trained once per seed, as the model
``<loss>_seed<n>`` (:func:`run_name`); :meth:`Layout.groups` gathers them
back per loss for the report.  Every step's
``.done`` marker is written last; see :mod:`.markers`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from espnet2_ext.recipe.common.cli import RecipeError


class DownstreamTask(NamedTuple):
    """Where one SUPERB-style downstream task (stage 7) keeps its files."""

    name: str  # asr | pr
    exp: Path  # the model dir
    stats: Path  # shape files
    config: Path  # the config with the run's upstream
    tokens: Path  # token list
    token_type: str  # ESPnet's --token_type
    data: Path  # data dirs with its targets
    metric: str  # wer | per (file name of the results)
    tag: str  # prefix of its step names in the log


SEED_TAG = "_seed"


def run_name(loss: str, seed: int) -> str:
    """The model fine-tuned with ``loss`` under ESPnet's ``--seed seed``."""
    return f"{loss}{SEED_TAG}{int(seed)}"


def split_run(model: str) -> Tuple[str, Optional[int]]:
    """``(loss, seed)`` of a model name (``seed`` None for ``base`` or an unseeded name)."""
    head, tag, tail = model.rpartition(SEED_TAG)
    if tag and head and tail.isdigit():
        return head, int(tail)
    return model, None


def parse_seeds(text: str) -> List[int]:
    """``"0 1 2"`` -> ``[0, 1, 2]``; distinct non-negative integers."""
    out: List[int] = []
    for w in str(text).replace(",", " ").split():
        if not w.isdigit():
            raise RecipeError(f"--seeds: {w!r} is not a non-negative integer")
        if int(w) in out:
            raise RecipeError(f"--seeds: {w} is given twice")
        out.append(int(w))
    return out


def uniq(words: Sequence[str]) -> List[str]:
    out: List[str] = []
    for w in words:
        if w not in out:
            out.append(w)
    return out


@dataclass
class Layout:
    """Paths of a run; see the module doc.  ``models``: ``base`` and the fine-tuned
    ones; with ``seeds``, ``models`` names ``base`` and the fine-tuning losses, and
    becomes ``base`` + one model per loss and seed (``<loss>_seed<n>``);
    ``init_param``: a given base model (then ``base`` is not trained)."""

    exp: Path = Path("exp")
    data: Path = Path("data")
    dump: Path = Path("dump")
    num_spk: int = 1
    ref_prefix: str = "spk"
    models: Sequence[str] = ("base",)
    eval_sets: Sequence[str] = ("dev", "test")
    asr_sets: Sequence[str] = ("test",)
    tasks: Sequence[str] = ("asr",)
    init_param: str = ""
    base_config: str = ""
    seeds: Sequence[int] = ()

    def __post_init__(self):
        self.exp, self.data, self.dump = Path(self.exp), Path(self.data), Path(self.dump)
        self.seeds = [int(s) for s in self.seeds]
        if self.seeds:
            self.losses = [m for m in self.models if m != "base"]
            self.models = ["base"] * ("base" in self.models) + [
                run_name(loss, s) for loss in self.losses for s in self.seeds]
        else:
            self.models = list(self.models)
            self.losses = [m for m in self.models if m != "base"]
        self.data_marker = self.data / ".stage1.done"  # stage 1 finished
        self.sim_marker = self.data / ".stage2.done"  # stage 2 finished
        self.stats_dir = self.exp / "enh_stats"
        # every mixture of --eval_sets: the input of one inference job per model
        self.eval_keys = self.exp / "enhanced" / "eval_keys.scp"
        self.pr_data_dir = self.exp / "pr_data"
        self.passes_dir = self.exp / "passes"
        self.probe_dir = self.exp / "position_probe"
        self.report_dir = self.exp / "report"
        self.jobs_log_dir = self.exp / "log"  # jobs that serve several steps (one ESPnet import)

    # ------------------------------------------------------------ stages 1-2
    @property
    def sim_sets(self) -> List[str]:
        """Every set stage 2 makes mixtures of."""
        return uniq(["train", "dev", *self.eval_sets, *self.asr_sets])

    def clean_dir(self, dset: str) -> Path:
        return self.data / dset

    def noisy_dir(self, dset: str) -> Path:
        return self.data / f"{dset}_noisy"

    def speakers(self) -> range:
        return range(1, self.num_spk + 1)

    def ref_scps(self, dset: str) -> List[Path]:
        """The references of a set's mixtures, one per speaker (``--ref_prefix``)."""
        return [self.noisy_dir(dset) / f"{self.ref_prefix}{n}.scp" for n in self.speakers()]

    def transcripts(self, dset: str) -> List[Path]:
        """Each speaker's transcription of a set's mixtures (``text_spk{n}``; one
        speaker: else ``text``); empty when the corpus has none."""
        d = self.noisy_dir(dset)
        per_spk = [d / f"text_spk{n}" for n in self.speakers()]
        if all(p.is_file() for p in per_spk):
            return per_spk
        return [d / "text"] if self.num_spk == 1 and (d / "text").is_file() else []

    # ------------------------------------------------------------ stage 3
    def model_dir(self, model: str) -> Path:
        return self.exp / f"enh_{model}"

    def trains(self, model: str) -> bool:
        """Whether the recipe trains ``model`` (not a given ``--init_param``)."""
        return not (model == "base" and self.init_param)

    def model_files(self, model: str) -> Tuple[Path, Path]:
        """``(config.yaml, checkpoint)`` of an enhancement model."""
        if not self.trains(model):
            cp = Path(self.init_param)
            return Path(self.base_config) if self.base_config else cp.parent / "config.yaml", cp
        return self.model_dir(model) / "config.yaml", self.model_dir(model) / "valid.loss.best.pth"

    def finetune_config(self, model: str) -> Path:
        """The config copy of a fine-tuning loss (shared by its seeds; a model name works too)."""
        return self.exp / "enh_configs" / f"enh_finetune_{split_run(model)[0]}.yaml"

    def runs(self) -> List[Tuple[str, Optional[int], str]]:
        """``(loss, seed, model)`` of every fine-tuned model."""
        return [(*split_run(m), m) for m in self.models if m != "base"]

    def groups(self) -> Dict[str, List[str]]:
        """The models per row of the report: ``base``, then each loss with its seeds' models."""
        out: Dict[str, List[str]] = {}
        for m in self.models:
            out.setdefault(split_run(m)[0], []).append(m)
        return out

    def train_data_opts(self) -> List[str]:
        """ESPnet's train/valid data options: the mixture and one reference per speaker."""
        out = []
        for part, dset in (("train", "train"), ("valid", "dev")):
            d = self.noisy_dir(dset)
            out += [f"--{part}_data_path_and_name_and_type", f"{d / 'wav.scp'},speech_mix,sound"]
            for n, ref in zip(self.speakers(), self.ref_scps(dset)):
                out += [f"--{part}_data_path_and_name_and_type", f"{ref},speech_ref{n},sound"]
        return out

    # ------------------------------------------------------------ stage 4
    def enhanced_dir(self, model: str) -> Path:
        return self.exp / "enhanced" / model

    def enhanced_scps(self, model: str, dset: str) -> List[Path]:
        return [self.enhanced_dir(model) / dset / f"spk{n}.scp" for n in self.speakers()]

    # ------------------------------------------------------------ front-ends
    @property
    def input_frontend(self) -> str:
        return "noisy" if self.num_spk == 1 else "mixture"

    @property
    def frontends(self) -> List[str]:
        """The rows of the results: the unprocessed input, then each model."""
        return [self.input_frontend, *self.models]

    def streams(self, fe: str, dset: str) -> List[Path]:
        """The signals a front-end gives for a set: one scp per output stream.

        ``clean``: the speech before mixing (one speaker: the corpus's own audio;
        several: each mixture's dry sources where the simulation or corpus has
        them, else the references); the input front-end: the mixture as one stream.
        """
        if fe == "clean":
            if self.num_spk == 1:
                return [self.clean_dir(dset) / "wav.scp"]
            d = self.noisy_dir(dset)
            return [d / f"dereverb{n}.scp" if (d / f"dereverb{n}.scp").is_file() else ref
                    for n, ref in zip(self.speakers(), self.ref_scps(dset))]
        if fe == self.input_frontend:
            return [self.noisy_dir(dset) / "wav.scp"]
        return self.enhanced_scps(fe, dset)

    # ------------------------------------------------------------ stages 5-6
    def scores_dir(self, dset: str) -> Path:
        return self.exp / "scores" / dset

    def repr_dir(self, dset: str) -> Path:
        return self.exp / "repr" / dset

    def sphinx_dir(self, dset: str, fe: str) -> Path:
        return self.exp / "asr_sphinx" / dset / fe

    def whisper_dir(self, dset: str) -> Path:
        """Whisper's decoding of every front-end of a set (one job array); results in
        ``FE/{text_stream*,wer.json}`` below it."""
        return self.exp / "asr_whisper" / dset

    # ------------------------------------------------------------ stage 7
    def task(self, name: str) -> DownstreamTask:
        if name == "asr":
            return DownstreamTask("asr", self.exp / "asr_superb", self.exp / "asr_stats",
                                  self.exp / "asr_configs" / "asr_superb.yaml",
                                  self.data / "token_list" / "char" / "tokens.txt", "char",
                                  self.data, "wer", "")
        if name == "pr":
            return DownstreamTask("pr", self.exp / "pr_superb", self.exp / "pr_stats",
                                  self.exp / "asr_configs" / "pr_superb.yaml",
                                  self.data / "token_list" / "phn" / "tokens.txt", "word",
                                  self.data / "phn", "per", "pr ")
        raise ValueError(f"unknown downstream task {name!r} (asr, pr)")

    def decode_dir(self, task: str) -> Path:
        """One decoding job per task over every set: ``decode_<set>``, or
        ``decode_sets`` for several sets."""
        t = self.task(task)
        return t.exp / (f"decode_{self.asr_sets[0]}" if len(self.asr_sets) == 1 else "decode_sets")

    def decoded_dir(self, task: str, dset: str, fe: str) -> Path:
        return self.task(task).exp / f"decode_{dset}" / fe

    # ------------------------------------------------------------ stage 8
    def results(self, dset: str, fe: str) -> Dict[str, Tuple[Path, List[Path]]]:
        """The result files of a front-end on a set, by source, each with the
        markers of the step that writes it (the result counts when one exists)."""
        out = {"scores": (self.scores_dir(dset) / fe / "summary.json", [self.scores_dir(dset) / ".done"]),
               "repr": (self.repr_dir(dset) / fe / "summary.json", [self.repr_dir(dset) / ".done"]),
               "sphinx": (self.sphinx_dir(dset, fe) / "wer.json", [self.sphinx_dir(dset, fe) / ".done"]),
               "whisper": (self.whisper_dir(dset) / fe / "wer.json", [self.whisper_dir(dset) / ".done"])}
        for name in ("asr", "pr"):
            t = self.task(name)
            markers = [t.exp / f"decode_{dset}" / ".done", t.exp / "decode_sets" / ".done"]
            out[f"superb_{name}"] = (self.decoded_dir(name, dset, fe) / f"{t.metric}.json", markers)
        return out


LAYOUT_OPTIONS = ("exp", "data", "dump", "num_spk", "ref_prefix", "models", "eval_sets", "asr_set",
                  "tasks", "init_param", "base_config", "seeds")


def add_layout_args(p: argparse.ArgumentParser) -> None:
    """The options that define a :class:`Layout` (shared by the tools that read one)."""
    g = p.add_argument_group("layout of the run")
    g.add_argument("--exp", default="exp")
    g.add_argument("--data", default="data")
    g.add_argument("--dump", default="dump")
    g.add_argument("--num_spk", type=int, default=1)
    g.add_argument("--ref_prefix", default="spk")
    g.add_argument("--models", default="base", help="enhancement models: base and the fine-tuned ones")
    g.add_argument("--eval_sets", default="dev test")
    g.add_argument("--asr_set", default="test", help="the set(s) of the ASR scores and the report")
    g.add_argument("--tasks", default="asr", help="downstream tasks (asr, pr)")
    g.add_argument("--init_param", default="", help="a given base model")
    g.add_argument("--base_config", default="")
    g.add_argument("--seeds", default="", help="fine-tune each loss once per seed (empty: the models as named)")


def layout_from_args(a: argparse.Namespace) -> Layout:
    return Layout(Path(a.exp), Path(a.data), Path(a.dump), a.num_spk, a.ref_prefix, a.models.split(),
                  a.eval_sets.split(), a.asr_set.split(), a.tasks.split(), a.init_param, a.base_config,
                  parse_seeds(a.seeds))
