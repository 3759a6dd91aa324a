"""The ``criterions`` of an enhancement config: registered names and loss wrappers,
their options, our SSL upstreams (name, source options, layers), and each
criterion and wrapper constructed (nothing is downloaded: our criterions build
their encoder on first use)."""

from __future__ import annotations

import os
from typing import Any, Dict

from espnet2_ext.recipe.config.espnet import quiet
from espnet2_ext.recipe.config.params import accepted_params, check_kwargs
from espnet2_ext.recipe.config.problems import Report, class_label, close, one_of

CRITERION_KEYS = ("name", "conf", "wrapper", "wrapper_conf")


def check_upstream(rep: Report, key: str, conf: dict) -> None:
    """Name, source options and layers of an SSL upstream, without loading weights."""
    from espnet2_ext.ssl import (CHECKPOINT_PREFIX, SOURCE_OPTIONS, UPSTREAM_NAMES, classify_source,
                                 known_num_layers, parse_layers)

    name = conf.get("upstream", "tiny")
    uconf = conf.get("upstream_conf") or {}
    if not isinstance(name, str):
        rep.error(f"{key}.upstream", f"must be a name, got {name!r}")
        return
    try:
        kind = classify_source(name)
    except ValueError:
        names = [n for n in UPSTREAM_NAMES if n != CHECKPOINT_PREFIX]
        rep.error(f"{key}.upstream", f"unknown SSL upstream {name!r}{close(name, names)}; "
                  f"one of {one_of(names)} or '{CHECKPOINT_PREFIX}PATH'")
        return
    if kind == "checkpoint":
        p = os.path.expanduser(name[len(CHECKPOINT_PREFIX):])
        if not p or not os.path.exists(p):
            rep.error(f"{key}.upstream", f"checkpoint file {p!r} does not exist")
    if not isinstance(uconf, dict):
        rep.error(f"{key}.upstream_conf", f"must be a mapping, got {type(uconf).__name__}")
        return
    accepted = SOURCE_OPTIONS[kind]
    for k in uconf:
        if k not in accepted:
            rep.error(f"{key}.upstream_conf.{k}", f"not an option of a {kind} upstream"
                      f"{close(k, accepted)}; options: {one_of(accepted) or '(none)'}")
    layers = conf.get("layers", "last")
    num_layers = known_num_layers(name, uconf)
    if num_layers is not None and layers is not None:
        try:
            parse_layers(layers, num_layers)
        except ValueError as e:
            rep.error(f"{key}.layers", str(e))


def _names_registered(rep: Report, key: str, c: dict, enh) -> bool:
    ok = True
    for k, table in (("name", enh.criterion_choices), ("wrapper", enh.loss_wrapper_choices)):
        what = "criterion" if k == "name" else "loss wrapper"
        if k not in c:
            rep.error(key, f"has no {k!r}")
            ok = False
        elif c[k] not in table.classes:
            rep.error(f"{key}.{k}", f"{c[k]!r} is not a registered {what}"
                      f"{close(c[k], table.classes)}; choices: {one_of(table.classes)}")
            ok = False
    return ok


def check_criterion(rep: Report, key: str, c: Any, enh) -> None:
    """One ``criterions[i]`` entry."""
    if not isinstance(c, dict):
        rep.error(key, f"must be a mapping with {', '.join(CRITERION_KEYS)}, got {c!r}")
        return
    for k in c:
        if k not in CRITERION_KEYS:
            rep.error(f"{key}.{k}", f"unknown key{close(k, CRITERION_KEYS)}; "
                      f"keys: {', '.join(CRITERION_KEYS)}")
    if not _names_registered(rep, key, c, enh):
        return
    crit_cls = enh.criterion_choices.get_class(c["name"])
    wrap_cls = enh.loss_wrapper_choices.get_class(c["wrapper"])
    conf = c.get("conf") or {}
    wconf = c.get("wrapper_conf")
    if wconf is None:
        rep.error(f"{key}.wrapper_conf", "is required by ESPnet (give {} for none)")
        return
    if not check_kwargs(rep, f"{key}.conf", crit_cls, conf, f"criterion {class_label(c['name'], crit_cls)}"):
        return
    if crit_cls.__module__.startswith("espnet2_ext.") and "upstream" in accepted_params(crit_cls)[0]:
        check_upstream(rep, f"{key}.conf", conf)
    try:
        with quiet():
            criterion = crit_cls(**conf)
    except Exception as e:  # noqa: BLE001  (the constructor's own message is the point)
        rep.error(f"{key}.conf", f"rejected by {c['name']}: {e}")
        return
    if isinstance(wconf, dict) and "criterion" in wconf:
        rep.error(f"{key}.wrapper_conf.criterion", "is set from the entry's name; remove it")
        return
    if not check_kwargs(rep, f"{key}.wrapper_conf", wrap_cls, wconf,
                        f"loss wrapper {class_label(c['wrapper'], wrap_cls)}"):
        return
    try:
        with quiet():
            wrap_cls(criterion=criterion, **wconf)
    except Exception as e:  # noqa: BLE001
        rep.error(f"{key}.wrapper_conf", f"rejected by {c['wrapper']}: {e}")


def check_criterions(rep: Report, args: Dict[str, Any]) -> None:
    import espnet2.tasks.enh as enh

    crits = args.get("criterions")
    if crits is None:
        return
    if not isinstance(crits, list) or not crits:
        rep.error("criterions", "must be a non-empty list of {name, conf, wrapper, wrapper_conf}")
        return
    for i, c in enumerate(crits):
        check_criterion(rep, f"criterions[{i}]", c, enh)
