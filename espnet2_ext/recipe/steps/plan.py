"""Every step of the stage script: its marker, its inputs, the steps it needs,
what it clears before it reruns and what it must leave behind.

A step is named as the stage script names it, with its keys:

==================  =========================================  =====================
step                marker                                     inputs (beside the
                                                               options the stage
                                                               script gives)
==================  =========================================  =====================
``configs``         ``exp/.configs_checked``                   the configs
``data``            ``data/.stage1.done``
``simulation``      ``data/.stage2.done``                      stage 1, the sets'
                                                               noise lists
``stats``           ``exp/enh_stats/.done``                    stage 2
``train M``         ``exp/enh_M/.done``                        the stats; fine-tuned
                                                               models: the base model,
                                                               the config copy, the seed
``enhance M``       ``exp/enhanced/M/.done``                   the model, its config,
                                                               the key list, stage 2
``scores SET``      ``exp/scores/SET/.done``                   references, every
                                                               front-end's signals
``repr SET``        ``exp/repr/SET/.done``                     the same as ``scores``
``sphinx SET FE``   ``exp/asr_sphinx/SET/FE/.done``            the front-end's streams,
                                                               the transcriptions
``whisper SET``     ``exp/asr_whisper/SET/.done``              every front-end's streams
                                                               (clean too), the
                                                               transcriptions
``pr_data``         ``exp/pr_data/.done``                      stage 1
``shapes T``        ``exp/T_stats/.done``                      the token list
``downstream T``    ``exp/T_superb/.done``                     the shapes, the config copy
``decode T``        ``exp/T_superb/decode_SET/.done``          the key list, the model,
                                                               every front-end
``probe``           ``exp/position_probe/.done``               stage 1 (the dev set)
``report``          ``exp/report/.done``                       every finished result
==================  =========================================  =====================

The signature also holds the markers of the steps whose outputs a step reads,
so that a rerun upstream makes it rerun too.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.steps.layout import Layout, split_run, uniq


@dataclass
class Step:
    marker: Path
    what: str  # its name in the log: "stage 5 (test)"
    title: str = ""  # what a later step says is missing: "stage 4 (enhancement with base)"
    inputs: List[object] = field(default_factory=list)
    needs: List["Step"] = field(default_factory=list)
    needs_files: List[Tuple[Path, str]] = field(default_factory=list)  # (file, what makes it)
    clears: List[Path] = field(default_factory=list)
    requires: List[Path] = field(default_factory=list)  # outputs that must exist once done
    log_dir: Optional[Path] = None
    train_dir: Optional[Path] = None  # a training step's dir (ESPnet --resume)
    done_note: str = ""  # what the log says when it is done (default: "WHAT: already done ...")

    def __post_init__(self):
        self.title = self.title or self.what


def step(layout: Layout, name: str, keys: Sequence[str] = ()) -> Step:
    """The step ``name`` with its ``keys`` (see the module doc)."""
    builders = {"configs": _configs, "data": _data, "simulation": _simulation, "stats": _stats,
                "train": _train, "enhance": _enhance, "scores": _scores, "repr": _repr,
                "sphinx": _sphinx, "whisper": _whisper, "pr_data": _pr_data, "shapes": _shapes,
                "downstream": _downstream, "decode": _decode, "probe": _probe, "report": _report}
    if name not in builders:
        raise RecipeError(f"unknown step {name!r}; one of {', '.join(builders)}")
    wanted = [p for p in inspect.signature(builders[name]).parameters][1:]
    if len(keys) != len(wanted):
        raise RecipeError(f"step {name} takes {len(wanted)} key(s) ({' '.join(wanted) or 'none'}), "
                          f"got {list(keys)}")
    return builders[name](layout, *keys)


def frontend_step(layout: Layout, fe: str) -> Step:
    """The step that made a front-end's signals."""
    if fe == "clean" and layout.num_spk == 1:
        return _data(layout)
    if fe in ("clean", layout.input_frontend):
        return _simulation(layout)
    return _enhance(layout, fe)


def _configs(layout: Layout) -> Step:
    return Step(layout.exp / ".configs_checked", "configs",
                done_note="configs unchanged since they passed the check; not checked again")


def _data(layout: Layout) -> Step:
    return Step(layout.data_marker, "stage 1", log_dir=layout.exp / "data" / "log")


def _simulation(layout: Layout) -> Step:
    lists = [layout.clean_dir(s) / "noise_sources.scp" for s in layout.sim_sets]
    return Step(layout.sim_marker, "stage 2",
                inputs=[layout.data_marker, f"sets={' '.join(layout.sim_sets)}",
                        f"num_spk={layout.num_spk}"] + [p for p in lists if p.is_file()],
                needs=[_data(layout)], log_dir=layout.exp / "simulation" / "log")


def _stats(layout: Layout) -> Step:
    return Step(layout.stats_dir / ".done", "stage 3 (stats)",
                inputs=[layout.sim_marker, f"ref_prefix={layout.ref_prefix}"],
                needs=[_simulation(layout)], clears=[layout.stats_dir / "logdir"],
                log_dir=layout.stats_dir / "logdir")


def _train(layout: Layout, model: str) -> Step:
    d = layout.model_dir(model)
    inputs: List[object] = [layout.stats_dir / ".done"]
    if model != "base":
        inputs += [layout.finetune_config(model), layout.model_files("base")[1]]
        seed = split_run(model)[1]
        if seed is not None:
            inputs.append(f"seed={seed}")
    return Step(d / ".done", f"stage 3 ({model})", f"stage 3 (training of the {model} model)",
                inputs=inputs, needs=[_stats(layout)], requires=[d / "valid.loss.best.pth"],
                log_dir=d, train_dir=d)


def _enhance(layout: Layout, model: str) -> Step:
    config, checkpoint = layout.model_files(model)
    d = layout.enhanced_dir(model)
    return Step(d / ".done", f"stage 4 ({model})", f"stage 4 (enhancement with {model})",
                inputs=[checkpoint, config, layout.eval_keys, layout.sim_marker],
                needs=[_train(layout, model)] if layout.trains(model) else [],
                needs_files=[(checkpoint, "stage 3")], clears=[d], log_dir=d / "log")


def _frontend_inputs(layout: Layout, dset: str, frontends: Sequence[str], what: str
                     ) -> Tuple[List[object], List[Step], List[Tuple[Path, str]]]:
    inputs: List[object] = []
    needs, files = [], []
    for fe in frontends:
        made_by = frontend_step(layout, fe)
        needs.append(made_by)
        for scp in layout.streams(fe, dset):
            files.append((scp, what))
            inputs.append(scp)
        inputs.append(made_by.marker)
    return inputs, needs, files


def _scores(layout: Layout, dset: str) -> Step:
    d = layout.scores_dir(dset)
    inputs, needs, files = _frontend_inputs(layout, dset, layout.frontends, "stage 4")
    refs = [layout.noisy_dir(dset) / "wav.scp", *layout.ref_scps(dset), layout.sim_marker]
    return Step(d / ".done", f"stage 5 ({dset})", inputs=refs + inputs, needs=needs,
                needs_files=files, clears=[d], log_dir=d / "log")


def _repr(layout: Layout, dset: str) -> Step:
    d = layout.repr_dir(dset)
    inputs, needs, files = _frontend_inputs(layout, dset, layout.frontends, "stage 4")
    refs = [*layout.ref_scps(dset), layout.sim_marker]
    return Step(d / ".done", f"stage 5 (representation distances, {dset})", inputs=refs + inputs,
                needs=needs, needs_files=files, clears=[d], log_dir=d / "log")


def _sphinx(layout: Layout, dset: str, fe: str) -> Step:
    d = layout.sphinx_dir(dset, fe)
    what = fe if list(layout.asr_sets) == [dset] else f"{dset} {fe}"
    inputs, needs, files = _frontend_inputs(layout, dset, [fe], "the earlier stages")
    return Step(d / ".done", f"stage 6 ({what})", inputs=inputs + layout.transcripts(dset),
                needs=needs, needs_files=files, clears=[d], log_dir=d / "log")


def _whisper(layout: Layout, dset: str) -> Step:
    d = layout.whisper_dir(dset)
    what = "whisper" if list(layout.asr_sets) == [dset] else f"whisper, {dset}"
    inputs, needs, files = _frontend_inputs(layout, dset, ["clean", *layout.frontends], "the earlier stages")
    return Step(d / ".done", f"stage 6 ({what})", inputs=inputs + layout.transcripts(dset),
                needs=needs, needs_files=files, clears=[d], log_dir=d / "log")


def whisper_keys_file(layout: Layout, dset: str) -> Path:
    return layout.whisper_dir(dset) / "all_wav.scp"


def _pr_data(layout: Layout) -> Step:
    d = layout.pr_data_dir
    sets = uniq(["train", "dev", *layout.asr_sets])
    texts = [layout.clean_dir(s) / f for s in sets for f in ("text", "wav.scp")]
    return Step(d / ".done", "stage 7 (pr phone targets)", inputs=[layout.data_marker] + texts,
                needs=[_data(layout)], log_dir=d / "log")


def _shapes(layout: Layout, task: str) -> Step:
    t = layout.task(task)
    inputs: List[object] = [t.tokens, layout.data_marker]
    if task == "pr":
        inputs.append(layout.pr_data_dir / ".done")
    return Step(t.stats / ".done", f"stage 7 ({t.tag}shapes)", inputs=inputs, needs=[_data(layout)])


def _downstream(layout: Layout, task: str) -> Step:
    t = layout.task(task)
    return Step(t.exp / ".done", f"stage 7 ({t.tag}training)",
                f"stage 7 (training of the downstream {task.upper()} model)",
                inputs=[t.config, t.stats / ".done"], needs=[_shapes(layout, task)],
                requires=[t.exp / "valid.loss.best.pth"], log_dir=t.exp, train_dir=t.exp)


def decode_keys(layout: Layout, task: str) -> Path:
    return layout.decode_dir(task) / "all_wav.scp"


def _decode(layout: Layout, task: str) -> Step:
    t = layout.task(task)
    d = layout.decode_dir(task)
    fes = ["clean", *layout.frontends]
    inputs: List[object] = [decode_keys(layout, task), t.exp / ".done"]
    inputs += [t.data / s / "text" for s in layout.asr_sets]
    inputs += [frontend_step(layout, fe).marker for fe in fes]
    clears = [d / "log", d / "text_all"]
    clears += [layout.decoded_dir(task, s, fe) for s in layout.asr_sets for fe in fes]
    return Step(d / ".done", f"stage 7 ({t.tag}decoding)", inputs=inputs,
                needs=[_downstream(layout, task)] + [frontend_step(layout, fe) for fe in fes],
                clears=clears, log_dir=d / "log")


def _probe(layout: Layout) -> Step:
    d = layout.probe_dir
    return Step(d / ".done", "stage 8 (positional-shortcut probe)",
                inputs=[layout.data_marker, layout.clean_dir("dev") / "wav.scp"], needs=[_data(layout)],
                clears=[d], log_dir=d / "log")


def _report(layout: Layout) -> Step:
    finished: List[Path] = [layout.probe_dir / ".done"]
    for dset in layout.asr_sets:
        finished += [layout.scores_dir(dset) / ".done", layout.repr_dir(dset) / ".done",
                     layout.whisper_dir(dset) / ".done"]
        finished += [layout.sphinx_dir(dset, fe) / ".done" for fe in ["clean", *layout.frontends]]
    for task in layout.tasks:
        finished.append(layout.decode_dir(task) / ".done")
    finished += [layout.model_dir(m) / ".done" for m in layout.models]
    return Step(layout.report_dir / ".done", "stage 8",
                inputs=[f"frontends={' '.join(layout.frontends)}", f"tasks={' '.join(layout.tasks)}"]
                + [p for p in finished if p.is_file()], log_dir=layout.report_dir / "log")
