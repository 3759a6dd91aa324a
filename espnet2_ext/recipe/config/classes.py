"""The classes a config chooses (``encoder: rnn``, ``optim: adam``, ...): registered,
and their ``*_conf`` keys taken by the class's constructor."""

from __future__ import annotations

from typing import Any, Dict, Set

from espnet2_ext.recipe.config.params import check_kwargs
from espnet2_ext.recipe.config.problems import Report, class_label, close, one_of


def class_choices(rep: Report, args: Dict[str, Any], task_cls, bad: Set[str]) -> None:
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
            rep.error(name, f"{chosen!r} is not registered{close(chosen, choices.classes)}; "
                      f"choices: {one_of(choices.classes)}")
            continue
        check_kwargs(rep, conf_key, cls, args.get(conf_key), f"{name} {class_label(chosen, cls)}")


def optim_sched(rep: Report, args: Dict[str, Any], bad: Set[str]) -> None:
    from espnet2.tasks import abs_task

    for key, table in (("optim", abs_task.optim_classes), ("scheduler", abs_task.scheduler_classes)):
        chosen = args.get(key)
        if key in bad or chosen is None or chosen not in table:
            continue
        conf = args.get(f"{key}_conf")
        if isinstance(conf, dict):
            conf = {k: v for k, v in conf.items() if k != "params"}
        check_kwargs(rep, f"{key}_conf", table[chosen], conf, f"{key} {class_label(chosen, table[chosen])}")


def enh_model_conf(rep: Report, args: Dict[str, Any]) -> None:
    from espnet2.enh.espnet_model import ESPnetEnhancementModel

    if args.get("diffusion_model") is not None:
        from espnet2.enh.espnet_diffusion_model import ESPnetDiffusionModel as model_cls
    else:
        model_cls = ESPnetEnhancementModel
    check_kwargs(rep, "model_conf", model_cls, args.get("model_conf"),
                 f"the model ({model_cls.__module__}.{model_cls.__qualname__})")
