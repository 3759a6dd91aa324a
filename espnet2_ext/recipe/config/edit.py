"""A copy of an ESPnet YAML config with the run's SSL upstream (``recipe_config set_upstream``).

The upstream of every ``ssl_*`` enhancement criterion
(``criterions[i].conf.upstream``) and of an ``ssl_*`` ASR frontend
(``frontend_conf.upstream``) becomes ``--upstream``; ``--set KEY=VALUE``
overrides top-level keys (YAML values, e.g. ``--set max_epoch=3``).  The copy
is rewritten only when its content changes (its signature stays).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import write_text_atomic


def load_yaml(path: Path) -> dict:
    import yaml

    if not Path(path).is_file():
        raise RecipeError(f"config file {path} does not exist")
    try:
        d = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RecipeError(f"config file {path} is not valid YAML: {e}") from None
    if not isinstance(d, dict):
        raise RecipeError(f"config file {path} must hold a mapping")
    return d


def set_upstream(cfg: dict, upstream: str) -> int:
    """Set the upstream in place; returns how many places were set."""
    n = 0
    for c in cfg.get("criterions") or []:
        if str(c.get("name", "")).startswith("ssl_"):
            c["conf"] = c.get("conf") or {}
            c["conf"]["upstream"] = upstream
            n += 1
    if str(cfg.get("frontend", "")).startswith("ssl_"):
        cfg["frontend_conf"] = cfg.get("frontend_conf") or {}
        cfg["frontend_conf"]["upstream"] = upstream
        n += 1
    return n


def main_set_upstream(argv: Optional[Sequence[str]] = None) -> int:
    import yaml

    p = argparse.ArgumentParser(prog="recipe_config set_upstream", description="SSL upstream into a config")
    p.add_argument("--in", dest="src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--require", default="true", choices=("true", "false"),
                   help="fail if the config has no SSL criterion/frontend")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a top-level key (YAML value)")
    a = p.parse_args(argv)
    cfg = load_yaml(Path(a.src))
    if set_upstream(cfg, a.upstream) == 0 and a.require == "true":
        raise RecipeError(f"{a.src} has no ssl_* criterion or frontend to set the upstream of")
    for kv in a.set:
        if "=" not in kv:
            raise RecipeError(f"--set expects KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        cfg[k] = yaml.safe_load(v)
    write_text_atomic(Path(a.out), yaml.safe_dump(cfg, sort_keys=False), keep_same=True)
    return 0
