"""Top-level keys of a config: known to the task's parser, of the option's type
and choices, and possible (positive epochs, batch sizes, learning rate, ...)."""

from __future__ import annotations

import argparse
from typing import Any, Dict, Set, Tuple

from espnet2_ext.recipe.config.params import is_int, is_number
from espnet2_ext.recipe.config.problems import Report, close, one_of

#: options that must be positive integers when set (None allowed where the default is None)
POSITIVE_INT = ("max_epoch", "batch_size", "batch_bins", "accum_grad", "num_iters_per_epoch",
                "valid_batch_size", "valid_batch_bins", "beam_size", "nbest")
NON_NEGATIVE_INT = ("num_workers", "ngpu", "patience", "num_att_plot")


def _typed(rep: Report, key: str, value, a: argparse.Action) -> Tuple[bool, Any]:
    """``(ok, value)``: the value converted by the option's type and checked."""
    if isinstance(value, str) and callable(a.type):
        try:
            value = a.type(value)
        except (TypeError, ValueError, argparse.ArgumentTypeError) as e:
            rep.error(key, f"invalid value {value!r}: {e}")
            return False, value
    if a.type is int and value is not None and not is_int(value):
        rep.error(key, f"must be an integer, got {value!r}")
        return False, value
    if a.type is float and value is not None and not is_number(value):
        rep.error(key, f"must be a number, got {value!r}")
        return False, value
    if a.choices is not None and a.nargs in (None, "?"):
        try:
            valid = value in a.choices
        except TypeError:  # unhashable value
            valid = False
        if not valid:
            rep.error(key, f"{value!r} is not an accepted value{close(value, a.choices)}; "
                      f"choices: {one_of(a.choices)}")
            return False, value
    return True, value


def top_level(rep: Report, cfg: dict, parser: argparse.ArgumentParser
              ) -> Tuple[Dict[str, Any], Set[str]]:
    """``(args, bad)``: parser defaults updated by the config's values, converted by
    each option's type, and the keys reported as unknown or invalid."""
    actions = {a.dest: a for a in parser._actions if a.dest not in ("help", "config", "print_config")}
    values = {}
    for key, value in cfg.items():
        a = actions.get(key)
        if a is None:
            rep.error(str(key), f"unknown option for the {rep.task} task{close(key, actions)}")
            continue
        ok, value = _typed(rep, key, value, a)
        if ok:
            values[key] = value
    args = {d: a.default for d, a in actions.items()}
    args.update(values)
    return args, set(cfg) - set(values)


def impossible_values(rep: Report, cfg: dict, args: Dict[str, Any]) -> None:
    for k in POSITIVE_INT:
        if k in cfg and k in args and args[k] is not None and is_int(args[k]) and args[k] <= 0:
            rep.error(k, f"must be a positive integer, got {args[k]}")
    for k in NON_NEGATIVE_INT:
        if k in cfg and k in args and args[k] is not None and is_int(args[k]) and args[k] < 0:
            rep.error(k, f"must be >= 0, got {args[k]}")
    oc = args.get("optim_conf")
    if isinstance(oc, dict) and "lr" in oc:
        _learning_rate(rep, oc["lr"])
    for i, c in enumerate(cfg.get("best_model_criterion") or []):
        if (not isinstance(c, (list, tuple)) or len(c) != 3 or c[0] not in ("train", "valid")
                or c[2] not in ("min", "max")):
            rep.error(f"best_model_criterion[{i}]", f"must be [train|valid, KEY, min|max], got {c!r}")


def _learning_rate(rep: Report, given) -> None:
    lr = given
    if isinstance(lr, str):  # YAML 1.1 reads "1e-3" as a string
        try:
            lr = float(lr)
        except ValueError:
            pass
    if not is_number(lr):
        rep.error("optim_conf.lr", f"must be a number, got {given!r}")
    elif isinstance(given, str):  # PyYAML reads 1e-3 (no dot) as a string
        rep.error("optim_conf.lr", f"{given!r} is read as a string by YAML; write it with a "
                  f"decimal point and a signed exponent, e.g. {lr:.1e}")
    elif lr <= 0:
        rep.error("optim_conf.lr", f"must be > 0, got {lr}")
