"""Up-front validation of ESPnet YAML configs (``python -m espnet2_ext.bin.check_config``).

A typo in a recipe config otherwise surfaces only when ESPnet starts training
(stage 3, or stage 7 hours later).  :func:`check_config` validates one YAML
file against the real ESPnet task, with espnet2_ext's names registered:

* every top-level key is an option of the task's parser (unknown keys are
  reported with their close matches);
* values of options with choices (``encoder``, ``separator``, ``frontend``,
  ``optim``, ``scheduler``, ``batch_type``, ...) are among them, typed options
  hold values of their type;
* ``criterions[i]`` entries name registered criterions and loss wrappers;
* the keys of every ``*_conf`` (and ``criterions[i].conf`` /
  ``wrapper_conf``) are parameters of the chosen class's ``__init__``
  (classes taking ``**kwargs`` accept anything);
* impossible values: non-positive ``max_epoch``, ``batch_size``,
  ``batch_bins``, ``accum_grad``, ``num_iters_per_epoch``, negative
  ``num_workers``, ``optim_conf.lr <= 0``, malformed ``best_model_criterion``;
* the criterions and loss wrappers are constructed (our ``ssl_*`` criterions
  validate their options there and build the SSL encoder only on first use,
  so nothing is downloaded); the encoder name and layer indices are checked
  against the architecture tables;
* finally the model is built with the task's ``build_model`` from the parser
  defaults merged with the config.  For ASR a frontend that would download
  weights (a torchaudio bundle not in the torch.hub cache, s3prl, Hugging
  Face, ...) is not built: the check says so in a note instead.

``--task asr_inference`` checks a decoding config against the options of
``espnet2.bin.asr_inference``.

Errors come as ``CONFIG: key.path: why`` lines, every error of a file at once.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import inspect
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple
from urllib.parse import urlparse

from espnet2_ext.recipe.common import RecipeError, run_cli

#: task name -> (module, attribute) of the parser's owner
TASKS = {
    "enh": ("espnet2_ext.tasks.enh", "EnhancementTask"),
    "asr": ("espnet2_ext.tasks.asr", "ASRTask"),
    "asr_inference": ("espnet2.bin.asr_inference", "get_parser"),
}

#: options that must be positive integers when set (None allowed where the default is None)
POSITIVE_INT = ("max_epoch", "batch_size", "batch_bins", "accum_grad", "num_iters_per_epoch",
                "valid_batch_size", "valid_batch_bins", "beam_size", "nbest")
NON_NEGATIVE_INT = ("num_workers", "ngpu", "patience", "num_att_plot")

CRITERION_KEYS = ("name", "conf", "wrapper", "wrapper_conf")

#: ASR frontends that never download anything when built
OFFLINE_FRONTENDS = {"default", "sliding_window", "fused_default", "wav2vec_cnn"}


@dataclass
class Report:
    """The result of checking one config file."""

    path: str
    task: str
    errors: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    built: bool = False

    def error(self, key: str, why: str) -> None:
        self.errors.append(f"{self.path}: {key}: {why}")

    def note(self, why: str) -> None:
        self.notes.append(f"{self.path}: note: {why}")

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- helpers
def _close(word: str, candidates, n: int = 3) -> str:
    m = difflib.get_close_matches(str(word), [str(c) for c in candidates if c is not None], n=n, cutoff=0.6)
    return f" (did you mean {', '.join(repr(x) for x in m)}?)" if m else ""


def _one_of(candidates, limit: int = 12) -> str:
    c = sorted(str(x) for x in candidates if x is not None)
    more = f", ... ({len(c)} in all)" if len(c) > limit else ""
    return ", ".join(c[:limit]) + more


def accepted_params(cls) -> Tuple[Optional[Set[str]], bool]:
    """Keyword names the constructor of ``cls`` takes, and whether it takes ``**kwargs``.

    ``None`` when the signature cannot be read.  For espnet2_ext's own classes,
    ``**kwargs`` is followed into the base classes' ``__init__`` (they forward
    it to ``super().__init__``).
    """
    names: Set[str] = set()
    target = cls
    seen = set()
    while True:
        try:
            sig = inspect.signature(target.__init__ if isinstance(target, type) else target)
        except (TypeError, ValueError):
            return None, True
        var_kw = False
        for p in sig.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
            elif p.kind is not p.VAR_POSITIONAL and p.name != "self":
                names.add(p.name)
        if not var_kw:
            return names, False
        if not isinstance(target, type) or not target.__module__.startswith("espnet2_ext."):
            return names, True
        # the next base class in the MRO that defines its own __init__
        nxt = None
        for base in target.__mro__[1:]:
            if "__init__" in vars(base) and base not in seen:
                nxt = base
                break
        if nxt is None or nxt is object:
            return names, True
        seen.add(nxt)
        target = nxt


def check_kwargs(rep: Report, key: str, cls, conf: Any, what: str) -> bool:
    """Report keys of ``conf`` that ``cls`` does not take; False if any (or not a mapping)."""
    if conf is None:
        return True
    if not isinstance(conf, dict):
        rep.error(key, f"must be a mapping of options of {what}, got {type(conf).__name__}")
        return False
    names, var_kw = accepted_params(cls)
    if names is None or var_kw:
        return True
    ok = True
    for k in conf:
        if k not in names:
            rep.error(f"{key}.{k}", f"not an option of {what}{_close(k, names)}; "
                      f"options: {_one_of(names)}")
            ok = False
    return ok


def _class_label(name: str, cls) -> str:
    return f"{name!r} ({cls.__module__}.{cls.__qualname__})"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


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


@contextlib.contextmanager
def _quiet(output: bool = False):
    """Silence ESPnet's logging and warnings (with ``output``, also what it prints)."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.ExitStack() as stack:
            warnings.simplefilter("ignore")
            if output:
                sink = stack.enter_context(open(os.devnull, "w"))
                stack.enter_context(contextlib.redirect_stdout(sink))
                stack.enter_context(contextlib.redirect_stderr(sink))
            yield
    finally:
        logging.disable(previous)


def _load_task(task: str):
    if task not in TASKS:
        raise RecipeError(f"unknown --task {task!r}; one of {', '.join(TASKS)}")
    mod, attr = TASKS[task]
    with _quiet(output=True):  # ESPnet's imports print about optional packages
        return getattr(importlib.import_module(mod), attr)


def get_parser_of(task: str) -> argparse.ArgumentParser:
    owner = _load_task(task)
    with _quiet():
        return owner() if task == "asr_inference" else owner.get_parser()


# --------------------------------------------------------------------------- top level
def _top_level(rep: Report, cfg: dict, parser: argparse.ArgumentParser):
    """``(args, bad)``: parser defaults updated by the config's values, converted by
    each option's type, and the keys reported as unknown or invalid."""
    actions = {a.dest: a for a in parser._actions if a.dest not in ("help", "config", "print_config")}
    values = {}
    for key, value in cfg.items():
        a = actions.get(key)
        if a is None:
            rep.error(str(key), f"unknown option for the {rep.task} task{_close(key, actions)}")
            continue
        if isinstance(value, str) and callable(a.type):
            try:
                value = a.type(value)
            except (TypeError, ValueError, argparse.ArgumentTypeError) as e:
                rep.error(key, f"invalid value {value!r}: {e}")
                continue
        if a.type is int and value is not None and not _is_int(value):
            rep.error(key, f"must be an integer, got {value!r}")
            continue
        if a.type is float and value is not None and not _is_number(value):
            rep.error(key, f"must be a number, got {value!r}")
            continue
        if a.choices is not None and a.nargs in (None, "?"):
            try:
                valid = value in a.choices
            except TypeError:  # unhashable value
                valid = False
            if not valid:
                rep.error(key, f"{value!r} is not an accepted value{_close(value, a.choices)}; "
                          f"choices: {_one_of(a.choices)}")
                continue
        values[key] = value
    args = {d: a.default for d, a in actions.items()}
    args.update(values)
    return args, set(cfg) - set(values)


def _impossible_values(rep: Report, cfg: dict, args: Dict[str, Any]) -> None:
    for k in POSITIVE_INT:
        if k in cfg and k in args and args[k] is not None and _is_int(args[k]) and args[k] <= 0:
            rep.error(k, f"must be a positive integer, got {args[k]}")
    for k in NON_NEGATIVE_INT:
        if k in cfg and k in args and args[k] is not None and _is_int(args[k]) and args[k] < 0:
            rep.error(k, f"must be >= 0, got {args[k]}")
    oc = args.get("optim_conf")
    if isinstance(oc, dict) and "lr" in oc:
        lr = oc["lr"]
        if isinstance(lr, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                lr = float(lr)
            except ValueError:
                pass
        if not _is_number(lr):
            rep.error("optim_conf.lr", f"must be a number, got {oc['lr']!r}")
        elif isinstance(oc["lr"], str):  # PyYAML reads 1e-3 (no dot) as a string
            rep.error("optim_conf.lr", f"{oc['lr']!r} is read as a string by YAML; write it with a "
                      f"decimal point and a signed exponent, e.g. {lr:.1e}")
        elif lr <= 0:
            rep.error("optim_conf.lr", f"must be > 0, got {lr}")
    if "best_model_criterion" in cfg:
        for i, c in enumerate(cfg["best_model_criterion"] or []):
            if (not isinstance(c, (list, tuple)) or len(c) != 3 or c[0] not in ("train", "valid")
                    or c[2] not in ("min", "max")):
                rep.error(f"best_model_criterion[{i}]",
                          f"must be [train|valid, KEY, min|max], got {c!r}")


# --------------------------------------------------------------------------- classes
def _class_choices(rep: Report, cfg: dict, args: Dict[str, Any], task_cls, bad: Set[str]) -> None:
    for choices in getattr(task_cls, "class_choices_list", []):
        name = choices.name
        if name in bad or name not in args:
            continue
        chosen = args[name]
        conf_key = f"{name}_conf"
        if chosen is None:
            if args.get(conf_key):
                rep.note(f"{conf_key} is set but {name} is none: it is ignored")
            continue
        try:
            cls = choices.get_class(chosen)
        except ValueError:
            rep.error(name, f"{chosen!r} is not registered{_close(chosen, choices.classes)}; "
                      f"choices: {_one_of(choices.classes)}")
            continue
        check_kwargs(rep, conf_key, cls, args.get(conf_key), f"{name} {_class_label(chosen, cls)}")


def _optim_sched(rep: Report, args: Dict[str, Any], bad: Set[str]) -> None:
    from espnet2.tasks import abs_task

    for key, table in (("optim", abs_task.optim_classes), ("scheduler", abs_task.scheduler_classes)):
        chosen = args.get(key)
        if key in bad or chosen is None or chosen not in table:
            continue
        conf = args.get(f"{key}_conf")
        if isinstance(conf, dict):
            conf = {k: v for k, v in conf.items() if k != "params"}
        check_kwargs(rep, f"{key}_conf", table[chosen], conf, f"{key} {_class_label(chosen, table[chosen])}")


def _enh_model_conf(rep: Report, args: Dict[str, Any]) -> None:
    from espnet2.enh.espnet_model import ESPnetEnhancementModel

    if args.get("diffusion_model") is not None:
        from espnet2.enh.espnet_diffusion_model import ESPnetDiffusionModel as model_cls
    else:
        model_cls = ESPnetEnhancementModel
    check_kwargs(rep, "model_conf", model_cls, args.get("model_conf"),
                 f"the model ({model_cls.__module__}.{model_cls.__qualname__})")


def _check_upstream(rep: Report, key: str, conf: dict) -> None:
    """Name, source options and layers of an SSL upstream, without loading weights."""
    from espnet2_ext.ssl import presets

    name = conf.get("upstream", presets.TINY)
    uconf = conf.get("upstream_conf") or {}
    if not isinstance(name, str):
        rep.error(f"{key}.upstream", f"must be a name, got {name!r}")
        return
    if name in presets.BUNDLES:
        kind = "bundle"
        num_layers = presets.arch_spec(name)[1]["encoder_num_layers"]
    elif name == presets.TINY:
        kind = "tiny"
        num_layers = presets.TINY_PARAMS["encoder_num_layers"]
        arch = uconf.get("arch_conf") if isinstance(uconf, dict) else None
        if isinstance(arch, dict) and "encoder_num_layers" in arch:
            num_layers = arch["encoder_num_layers"]
    elif name.startswith(presets.CHECKPOINT_PREFIX):
        kind = "checkpoint"
        num_layers = None
        p = os.path.expanduser(name[len(presets.CHECKPOINT_PREFIX):])
        if not p or not os.path.exists(p):
            rep.error(f"{key}.upstream", f"checkpoint file {p!r} does not exist")
    else:
        rep.error(f"{key}.upstream", f"unknown SSL upstream {name!r}{_close(name, presets.BUNDLES)}; "
                  f"one of {_one_of(list(presets.BUNDLES) + [presets.TINY])} or 'checkpoint:PATH'")
        return
    if not isinstance(uconf, dict):
        rep.error(f"{key}.upstream_conf", f"must be a mapping, got {type(uconf).__name__}")
        return
    from espnet2_ext.ssl.upstream import _SOURCE_KEYS

    for k in uconf:
        if k not in _SOURCE_KEYS[kind]:
            rep.error(f"{key}.upstream_conf.{k}", f"not an option of a {kind} upstream"
                      f"{_close(k, _SOURCE_KEYS[kind])}; options: {_one_of(_SOURCE_KEYS[kind])}")
    layers = conf.get("layers", "last")
    if num_layers is not None and layers is not None:
        from espnet2_ext.ssl.upstream import SSLUpstream

        probe = SSLUpstream.__new__(SSLUpstream)
        probe.__dict__["num_layers"] = int(num_layers)
        try:
            SSLUpstream._parse_layers(probe, layers)
        except ValueError as e:
            rep.error(f"{key}.layers", str(e))


def _criterions(rep: Report, args: Dict[str, Any]) -> None:
    import espnet2.tasks.enh as enh

    crits = args.get("criterions")
    if crits is None:
        return
    if not isinstance(crits, list) or not crits:
        rep.error("criterions", "must be a non-empty list of {name, conf, wrapper, wrapper_conf}")
        return
    for i, c in enumerate(crits):
        key = f"criterions[{i}]"
        if not isinstance(c, dict):
            rep.error(key, f"must be a mapping with {', '.join(CRITERION_KEYS)}, got {c!r}")
            continue
        for k in c:
            if k not in CRITERION_KEYS:
                rep.error(f"{key}.{k}", f"unknown key{_close(k, CRITERION_KEYS)}; "
                          f"keys: {', '.join(CRITERION_KEYS)}")
        ok = True
        for k, table in (("name", enh.criterion_choices), ("wrapper", enh.loss_wrapper_choices)):
            if k not in c:
                rep.error(key, f"has no {k!r}")
                ok = False
            elif c[k] not in table.classes:
                rep.error(f"{key}.{k}", f"{c[k]!r} is not a registered {table.name[:-1] if k == 'name' else 'loss wrapper'}"
                          f"{_close(c[k], table.classes)}; choices: {_one_of(table.classes)}")
                ok = False
        if not ok:
            continue
        crit_cls = enh.criterion_choices.get_class(c["name"])
        wrap_cls = enh.loss_wrapper_choices.get_class(c["wrapper"])
        conf = c.get("conf") or {}
        wconf = c.get("wrapper_conf")
        if wconf is None:
            rep.error(f"{key}.wrapper_conf", "is required by ESPnet (give {} for none)")
            continue
        if not check_kwargs(rep, f"{key}.conf", crit_cls, conf, f"criterion {_class_label(c['name'], crit_cls)}"):
            continue
        if crit_cls.__module__.startswith("espnet2_ext.") and "upstream" in accepted_params(crit_cls)[0]:
            _check_upstream(rep, f"{key}.conf", conf)
        try:
            with _quiet():
                criterion = crit_cls(**conf)
        except Exception as e:  # noqa: BLE001  (the constructor's own message is the point)
            rep.error(f"{key}.conf", f"rejected by {c['name']}: {e}")
            continue
        names, var_kw = accepted_params(wrap_cls)
        if names is not None and not var_kw:
            names.discard("criterion")
        if isinstance(wconf, dict) and "criterion" in wconf:
            rep.error(f"{key}.wrapper_conf.criterion", "is set from the entry's name; remove it")
            continue
        if not check_kwargs(rep, f"{key}.wrapper_conf", wrap_cls, wconf,
                            f"loss wrapper {_class_label(c['wrapper'], wrap_cls)}"):
            continue
        try:
            with _quiet():
                wrap_cls(criterion=criterion, **wconf)
        except Exception as e:  # noqa: BLE001
            rep.error(f"{key}.wrapper_conf", f"rejected by {c['wrapper']}: {e}")


# --------------------------------------------------------------------------- model build
def bundle_cache_file(name: str, dl_kwargs: Optional[dict] = None) -> str:
    """Where torch.hub keeps the weights of a torchaudio bundle (whether there or not)."""
    import torch
    from espnet2_ext.ssl import presets

    b = presets.bundle(name)
    url = b._path
    dl = dl_kwargs or {}
    model_dir = dl.get("model_dir") or os.path.join(torch.hub.get_dir(), "checkpoints")
    fname = dl.get("file_name") or os.path.basename(urlparse(url).path)
    return os.path.join(model_dir, fname)


def _asr_build_blocker(args: Dict[str, Any]) -> Optional[str]:
    """Why building this ASR model now could download or cannot work; None if it is safe."""
    from espnet2_ext.ssl import presets

    if args.get("input_size") is None:
        fe = args.get("frontend")
        conf = args.get("frontend_conf") or {}
        if fe == "ssl_weighted_sum":
            up = conf.get("upstream", presets.TINY)
            if up in presets.BUNDLES:
                path = bundle_cache_file(up, (conf.get("upstream_conf") or {}).get("dl_kwargs"))
                if not os.path.isfile(path):
                    return (f"model not built: upstream {up!r} is not in the local torch.hub cache "
                            f"({path}) and the check does not download")
        elif fe is not None and fe not in OFFLINE_FRONTENDS:
            return f"model not built: frontend {fe!r} may download weights"
    if args.get("normalize") == "global_mvn" and not (args.get("normalize_conf") or {}).get("stats_file"):
        return "model not built: normalize global_mvn needs feature statistics (stats_file), made later"
    return None


def _build(rep: Report, task_cls, args: Dict[str, Any]) -> None:
    ns = argparse.Namespace(**args)
    if rep.task == "asr":
        why = _asr_build_blocker(args)
        if why:
            rep.note(why)
            return
        if ns.token_list is None:  # made from the data later: a small stand-in
            ns.token_list = ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]
    try:
        with _quiet():
            model = task_cls.build_model(ns)
    except Exception as e:  # noqa: BLE001
        rep.error("(model)", f"ESPnet cannot build the model from this config: {_describe(e)}")
        return
    rep.built = True
    # the optimizer and scheduler on the model's parameters, as ESPnet's trainer makes them
    try:
        with _quiet():
            optimizers = task_cls.build_optimizers(ns, model=model)
    except Exception as e:  # noqa: BLE001
        rep.error("optim_conf", f"optimizer {ns.optim!r} rejects it: {_describe(e)}")
        return
    if getattr(ns, "scheduler", None) is not None and getattr(task_cls, "num_optimizers", 1) == 1:
        from espnet2.tasks.abs_task import scheduler_classes

        try:
            with _quiet():
                scheduler_classes[ns.scheduler](optimizers[0], **(ns.scheduler_conf or {}))
        except Exception as e:  # noqa: BLE001
            rep.error("scheduler_conf", f"scheduler {ns.scheduler!r} rejects it: {_describe(e)}")


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split()) or '(no message)'}"


# --------------------------------------------------------------------------- entry points
def check_config(path, task: str, upstream: Optional[str] = None, build: bool = True) -> Report:
    """Check one config file; see the module doc.  Never raises for a bad config."""
    rep = Report(str(path), task)
    cfg = _load_yaml(rep, Path(path))
    if cfg is None:
        return rep
    if upstream and task in ("enh", "asr"):
        from espnet2_ext.recipe.config import set_upstream

        set_upstream(cfg, upstream)
    parser = get_parser_of(task)
    args, bad = _top_level(rep, cfg, parser)
    _impossible_values(rep, cfg, args)
    if task == "asr_inference":
        return rep
    task_cls = _load_task(task)
    _class_choices(rep, cfg, args, task_cls, bad)
    _optim_sched(rep, args, bad)
    if task == "enh":
        _enh_model_conf(rep, args)
        if "criterions" not in bad:
            _criterions(rep, args)
    if build and rep.ok:
        _build(rep, task_cls, args)
    return rep


def _parse_argv(argv: Sequence[str]):
    usage = ("usage: check_config [--upstream NAME] [--no_build] "
             "--task {enh,asr,asr_inference} CONFIG... [--task TASK CONFIG...]")
    items: List[Tuple[str, str]] = []
    upstream, build, task = None, True, None
    it = iter(argv)
    for a in it:
        if a in ("-h", "--help"):
            print(usage + "\n\n" + __doc__)
            raise SystemExit(0)
        if a.startswith("--task"):
            task = a.split("=", 1)[1] if "=" in a else next(it, None)
            if task not in TASKS:
                raise RecipeError(f"--task must be one of {', '.join(TASKS)}, got {task!r}\n{usage}")
        elif a.startswith("--upstream"):
            upstream = a.split("=", 1)[1] if "=" in a else next(it, None)
            if not upstream:
                raise RecipeError(f"--upstream needs a value\n{usage}")
        elif a == "--no_build":
            build = False
        elif a.startswith("-"):
            raise RecipeError(f"unknown option {a}\n{usage}")
        else:
            if task is None:
                raise RecipeError(f"give --task before {a}\n{usage}")
            items.append((task, a))
    if not items:
        raise RecipeError(f"no config given\n{usage}")
    return items, upstream, build


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    items, upstream, build = _parse_argv(argv)
    t0 = time.time()
    reports = [check_config(p, t, upstream=upstream, build=build) for t, p in items]
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
