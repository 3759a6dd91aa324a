"""Up-front validation of ESPnet YAML configs (``python -m espnet2_ext.bin.check_config``).

A typo in a recipe config otherwise surfaces only when ESPnet starts training
(stage 3, or stage 7 hours later).  :func:`check_config` validates one YAML
file against the real ESPnet task, with espnet2_ext's names registered:

* every top-level key is an option of the task's parser (unknown keys are
  reported with their close matches); values of options with choices
  (``encoder``, ``separator``, ``frontend``, ``optim``, ``scheduler``,
  ``batch_type``, ...) are among them, typed options hold values of their
  type; impossible values: non-positive ``max_epoch``, ``batch_size``,
  ``batch_bins``, ``accum_grad``, ``num_iters_per_epoch``, negative
  ``num_workers``, ``optim_conf.lr <= 0``, malformed ``best_model_criterion``
  (:mod:`.options`);
* the keys of every ``*_conf`` are parameters of the chosen class's
  ``__init__`` (classes taking ``**kwargs`` accept anything) (:mod:`.classes`);
* ``criterions[i]`` entries name registered criterions and loss wrappers, the
  criterions and loss wrappers are constructed (our ``ssl_*`` criterions
  validate their options there and build the SSL encoder only on first use,
  so nothing is downloaded); the encoder name, its source options and layer
  indices are checked with :mod:`espnet2_ext.ssl`'s own tables (:mod:`.criterions`);
* finally the model is built with the task's ``build_model`` from the parser
  defaults merged with the config, with its optimizer and scheduler.  For ASR
  a frontend that would download weights is not built: the check says so in
  a note instead (:mod:`.build`).

``--task asr_inference`` checks a decoding config against the options of
``espnet2.bin.asr_inference``.

Errors come as ``CONFIG: key.path: why`` lines, every error of a file at once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from espnet2_ext.recipe.common.cli import RecipeError, run_cli
from espnet2_ext.recipe.config.build import build
from espnet2_ext.recipe.config.classes import class_choices, enh_model_conf, optim_sched
from espnet2_ext.recipe.config.criterions import check_criterions
from espnet2_ext.recipe.config.edit import set_upstream
from espnet2_ext.recipe.config.espnet import TASKS, get_parser_of, load_task
from espnet2_ext.recipe.config.options import impossible_values, top_level
from espnet2_ext.recipe.config.problems import Report

USAGE = ("usage: check_config [--upstream NAME] [--no_build] "
         "--task {enh,asr,asr_inference} CONFIG... [--task TASK CONFIG...]")


def _load_yaml(rep: Report, path: Path) -> Optional[dict]:
    import yaml

    if not path.is_file():
        rep.error("(file)", "does not exist")
        return None
    try:
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        rep.error("(file)", f"not valid YAML: {' '.join(str(e).split())}")
        return None
    if d is None:
        return {}
    if not isinstance(d, dict):
        rep.error("(file)", f"must hold a mapping of options, got {type(d).__name__}")
        return None
    return d


def check_config(path, task: str, upstream: Optional[str] = None, build_model: bool = True) -> Report:
    """Check one config file; see the module doc.  Never raises for a bad config."""
    rep = Report(str(path), task)
    cfg = _load_yaml(rep, Path(path))
    if cfg is None:
        return rep
    if upstream and task in ("enh", "asr"):
        set_upstream(cfg, upstream)
    args, bad = top_level(rep, cfg, get_parser_of(task))
    impossible_values(rep, cfg, args)
    if task == "asr_inference":
        return rep
    task_cls = load_task(task)
    class_choices(rep, args, task_cls, bad)
    optim_sched(rep, args, bad)
    if task == "enh":
        enh_model_conf(rep, args)
        if "criterions" not in bad:
            check_criterions(rep, args)
    if build_model and rep.ok:
        build(rep, task_cls, args)
    return rep


def _parse_argv(argv: Sequence[str]) -> Tuple[List[Tuple[str, str]], Optional[str], bool]:
    items: List[Tuple[str, str]] = []
    upstream, build_model, task = None, True, None
    it = iter(argv)
    for a in it:
        if a in ("-h", "--help"):
            print(USAGE + "\n\n" + __doc__)
            raise SystemExit(0)
        if a.startswith("--task"):
            task = a.split("=", 1)[1] if "=" in a else next(it, None)
            if task not in TASKS:
                raise RecipeError(f"--task must be one of {', '.join(TASKS)}, got {task!r}\n{USAGE}")
        elif a.startswith("--upstream"):
            upstream = a.split("=", 1)[1] if "=" in a else next(it, None)
            if not upstream:
                raise RecipeError(f"--upstream needs a value\n{USAGE}")
        elif a == "--no_build":
            build_model = False
        elif a.startswith("-"):
            raise RecipeError(f"unknown option {a}\n{USAGE}")
        elif task is None:
            raise RecipeError(f"give --task before {a}\n{USAGE}")
        else:
            items.append((task, a))
    if not items:
        raise RecipeError(f"no config given\n{USAGE}")
    return items, upstream, build_model


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    items, upstream, build_model = _parse_argv(argv)
    t0 = time.time()
    reports = [check_config(p, t, upstream=upstream, build_model=build_model) for t, p in items]
    for r in reports:
        for line in r.notes + r.errors:
            print(line, file=sys.stderr)
    bad = [r for r in reports if not r.ok]
    if bad:
        n = sum(len(r.errors) for r in bad)
        raise RecipeError(f"{n} error(s) in {len(bad)} of {len(reports)} config file(s) (listed above)")
    built = sum(r.built for r in reports)
    print(f"check_config: {len(reports)} config(s) OK ({built} model(s) built) in {time.time() - t0:.1f} s")
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
