"""The stage script's questions (``python -m espnet2_ext.bin.recipe_steps``).

Usage: ``recipe_steps LAYOUT_OPTIONS COMMAND ...`` with the layout options of
:func:`~espnet2_ext.recipe.steps.layout.add_layout_args` and

=====================================================  ==============================================
``todo STEP [KEY...] [--require F]... [-- WORD...]``   exit 0 and print nothing when the step must run
                                                       (marker and old outputs dropped, its signature
                                                       noted: the step's inputs plus WORDs); print why
                                                       not when it is done; exit 1 when a step it needs
                                                       has not finished
``finish STEP [KEY...]``                               the step ran: write its marker
``forget STEP [KEY...]``                               the step failed: drop its noted signature
``begin STEP [KEY...]``                                a training step's dir, kept for ``--resume`` or
                                                       moved aside (prints a line when moved)
``path NAME [KEY...]``                                 one path per line (see :data:`PATHS`)
``args NAME [KEY...]``                                 a tool's arguments, one per line (see :data:`ARGS`)
``split --nj N SCP PREFIX [SCP PREFIX...]``            ``PREFIX.{1..n}.scp``; prints n
``collect WHAT [KEY...]``                              eval_keys, enhanced M, downstream_keys T,
                                                       decoded T (prints the scores), whisper_keys SET,
                                                       whisper SET (prints the scores)
``vars task T``                                        shell assignments of a downstream task's paths
=====================================================  ==============================================
"""

from __future__ import annotations

import argparse
import inspect
import shlex
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError, run_cli
from espnet2_ext.recipe.steps import collect, progress
from espnet2_ext.recipe.steps.layout import Layout, add_layout_args, layout_from_args, uniq
from espnet2_ext.recipe.steps.plan import step

#: ``path NAME KEYS``
PATHS: Dict[str, Callable[..., object]] = {
    "log": lambda lo, name, *keys: step(lo, name, keys).log_dir,
    "marker": lambda lo, name, *keys: step(lo, name, keys).marker,
    "model": lambda lo, model: lo.model_files(model),
    "model_dir": lambda lo, model: lo.model_dir(model),
    "finetune_config": lambda lo, model: lo.finetune_config(model),
    "stats_dir": lambda lo: lo.stats_dir,
    "eval_keys": lambda lo: lo.eval_keys,
    "enhanced_dir": lambda lo, model: lo.enhanced_dir(model),
    "scores_dir": lambda lo, dset: lo.scores_dir(dset),
    "repr_dir": lambda lo, dset: lo.repr_dir(dset),
    "sphinx_dir": lambda lo, dset, fe: lo.sphinx_dir(dset, fe),
    "whisper_dir": lambda lo, dset: lo.whisper_dir(dset),
    "probe_dir": lambda lo: lo.probe_dir,
    "decode_dir": lambda lo, task: lo.decode_dir(task),
    "pr_data_dir": lambda lo: lo.pr_data_dir,
    "passes_dir": lambda lo: lo.passes_dir,
    "noisy_dir": lambda lo, dset: lo.noisy_dir(dset),
    "clean_dir": lambda lo, dset: lo.clean_dir(dset),
    "jobs_log": lambda lo, name: lo.jobs_log_dir / f"{name}.log",
}


def _systems(lo: Layout, dset: str) -> List[str]:
    return [f"{fe}={','.join(str(s) for s in lo.streams(fe, dset))}" for fe in lo.frontends]


def _score_args(lo: Layout, dset: str) -> List[str]:
    out = ["--mix_scp", str(lo.noisy_dir(dset) / "wav.scp")]
    for ref in lo.ref_scps(dset):
        out += ["--ref_scp", str(ref)]
    return out + _systems(lo, dset)


def _repr_args(lo: Layout, dset: str) -> List[str]:
    return [w for ref in lo.ref_scps(dset) for w in ("--ref_scp", str(ref))] + _systems(lo, dset)


def _simulate_args(lo: Layout, dset: str, train_copies: str) -> List[str]:
    train = dset == "train"
    return ["--src_dir", str(lo.clean_dir(dset)), "--out_dir", str(lo.noisy_dir(dset)),
            "--wav_dir", str(lo.dump / "noisy" / dset), "--part", "train" if train else "eval",
            "--copies", train_copies if train else "1"]


#: ``args NAME KEYS``
ARGS: Dict[str, Callable[..., List[str]]] = {
    "frontends": lambda lo: lo.frontends,
    "models": lambda lo: lo.models,
    "sim_sets": lambda lo: lo.sim_sets,
    "simulate": _simulate_args,
    "train_data": lambda lo: lo.train_data_opts(),
    "score": _score_args,
    "repr": _repr_args,
    "runs": lambda lo: [f"{loss} {seed} {model}" for loss, seed, model in lo.runs()],
    "streams": lambda lo, dset, fe: [w for s in lo.streams(fe, dset) for w in ("--wav_scp", str(s))],
    "refs": lambda lo, dset: [w for t in lo.transcripts(dset) for w in ("--ref", str(t))],
    "phone_dirs": lambda lo: [w for s in uniq(["train", "dev", *lo.asr_sets]) for w in
                              ("--src_dir", str(lo.clean_dir(s)), "--out_dir", str(lo.task("pr").data / s))],
}


def _call(table: Dict[str, Callable], what: str, lo: Layout, rest: Sequence[str]):
    if not rest or rest[0] not in table:
        raise RecipeError(f"{what}: one of {', '.join(table)}, got {list(rest[:1])}")
    fn, keys = table[rest[0]], list(rest[1:])
    try:
        inspect.signature(fn).bind(lo, *keys)
    except TypeError:
        raise RecipeError(f"{what} {rest[0]}: wrong keys {keys}") from None
    return fn(lo, *keys)


def _todo(lo: Layout, rest: Sequence[str]) -> None:
    words: List[str] = []
    if "--" in rest:
        i = list(rest).index("--")
        rest, words = list(rest[:i]), list(rest[i + 1:])
    keys, requires = [], []
    it = iter(rest)
    for w in it:
        if w == "--require":
            requires.append(Path(next(it, "")))
        else:
            keys.append(w)
    if not keys:
        raise RecipeError("todo: name the step")
    note = progress.todo(step(lo, keys[0], keys[1:]), words, requires)
    if note:
        print(note)


def _collect(lo: Layout, rest: Sequence[str]) -> None:
    what = {"eval_keys": lambda: collect.eval_keys(lo),
            "enhanced": lambda model: collect.enhanced(lo, model),
            "corpus_mixtures": lambda dset: collect.corpus_mixtures(lo, dset),
            "downstream_keys": lambda task: collect.downstream_keys(lo, task),
            "decoded": lambda task: print("\n".join(collect.decoded(lo, task))),
            "whisper_keys": lambda dset: collect.whisper_keys(lo, dset),
            "whisper": lambda dset: print("\n".join(collect.whispered(lo, dset)))}
    made = _call({k: (lambda _lo, *keys, f=f: f(*keys)) for k, f in what.items()}, "collect", lo, rest)
    if made is not None:
        print(made)


def _split(rest: Sequence[str]) -> None:
    p = argparse.ArgumentParser(prog="recipe_steps split")
    p.add_argument("--nj", type=int, required=True)
    p.add_argument("pairs", nargs="+", metavar="SCP PREFIX")
    a = p.parse_args(rest)
    if len(a.pairs) % 2:
        raise RecipeError("split: give SCP PREFIX pairs")
    pairs = [(Path(a.pairs[i]), Path(a.pairs[i + 1])) for i in range(0, len(a.pairs), 2)]
    print(collect.split(pairs, a.nj))


def _task_vars(lo: Layout, rest: Sequence[str]) -> None:
    if len(rest) != 2 or rest[0] != "task":
        raise RecipeError("vars: give 'task T'")
    t = lo.task(rest[1])
    values = dict(t._asdict(), train=t.data / "train", valid=t.data / "dev")
    for k, v in values.items():
        print(f"t_{k}={shlex.quote(str(v))}")


def _print(value) -> None:
    for v in value if isinstance(value, (list, tuple)) else [value]:
        print(v)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="recipe_steps", description=__doc__.split("\n\n")[0])
    add_layout_args(p)
    p.add_argument("command", choices=("todo", "finish", "forget", "begin", "path", "args", "split",
                                       "collect", "vars"))
    p.add_argument("rest", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    lo = layout_from_args(a)
    rest = a.rest
    if a.command == "todo":
        _todo(lo, rest)
    elif a.command in ("finish", "forget", "begin"):
        if not rest:
            raise RecipeError(f"{a.command}: name the step")
        s = step(lo, rest[0], rest[1:])
        note = {"finish": progress.finish, "forget": progress.forget, "begin": progress.begin}[a.command](s)
        if note:
            print(note)
    elif a.command == "path":
        _print(_call(PATHS, "path", lo, rest))
    elif a.command == "args":
        _print(_call(ARGS, "args", lo, rest))
    elif a.command == "split":
        _split(rest)
    elif a.command == "collect":
        _collect(lo, rest)
    else:
        _task_vars(lo, rest)
    sys.stdout.flush()
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
