"""The rules espnet2_ext.recipe documents: importing any of its modules loads
neither ESPnet nor torch (the tools start fast); only ``recipe/config`` (the
config check) and ``scoring/representation.py`` (the criterions, for the
representation distances) reach ESPnet, inside their functions, and
``common/espnet_runs.py`` imports the ESPnet tool it is told to run, inside a
function; no shipped module patches or mocks anything; the stage script calls
Python only as ``python -m espnet2_ext.bin.<tool>``."""

import ast
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import espnet2_ext
import espnet2_ext.recipe

from helpers.env import REPO, subprocess_env

RECIPE = Path(espnet2_ext.recipe.__file__).parent
PACKAGE = Path(espnet2_ext.__file__).parent


def _imports(path: Path):
    """``(module, top level?)`` of every import in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((a.name, id(node) in top) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, id(node) in top


def _is_espnet(mod: str) -> bool:
    return mod.split(".")[0] in ("espnet", "espnet2") or mod.startswith(
        ("espnet2_ext.tasks", "espnet2_ext.enh", "espnet2_ext.plugin"))


def test_importing_the_recipe_modules_loads_no_espnet_nor_torch():
    mods = [m.name for m in pkgutil.walk_packages([str(RECIPE)], "espnet2_ext.recipe.")]
    assert "espnet2_ext.recipe.config.check" in mods and len(mods) > 30
    code = ("import importlib, sys\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            "print(sorted({k.split('.')[0] for k in sys.modules} & {'torch', 'espnet2', 'espnet', 'torchaudio'}))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(),
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_only_config_reaches_espnet_and_only_inside_functions():
    reaching = {}
    for path in sorted(RECIPE.rglob("*.py")):
        for mod, top in _imports(path):
            if _is_espnet(mod):
                reaching.setdefault(path.relative_to(RECIPE).parts[0], []).append((path.name, top))
    assert set(reaching) == {"config", "scoring"}, reaching  # the checker does see ESPnet imports
    assert {f for f, _ in reaching["scoring"]} == {"representation.py"}
    assert not [f for fs in reaching.values() for f, top in fs if top]
    runs = (RECIPE / "common" / "espnet_runs.py").read_text()
    assert "importlib.import_module(name)" in runs  # the tool it runs, imported inside run_all


def test_no_shipped_module_mocks():
    offenders = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py")
                 for mod, _ in _imports(p) if mod.startswith("unittest")]
    assert offenders == []


def test_modules_stay_small():
    """No module over ~400 lines without a reason written at its top."""
    big = []
    for p in list(PACKAGE.rglob("*.py")):
        lines = p.read_text().splitlines()
        if len(lines) > 420 and "over 400 lines" not in "\n".join(lines[:30]):
            big.append(f"{p.relative_to(REPO)}: {len(lines)}")
    script = REPO / "egs2/TEMPLATE/enh_ssl1/enh_ssl.sh"
    assert [b for b in big if b.startswith(("espnet2_ext/recipe", "espnet2_ext/launch"))] == []
    assert len(script.read_text().splitlines()) < 650


def test_stage_script_asks_python_for_the_layout():
    """The stage script names no result file of the layout: the report, the
    markers and the per-speaker files are Python's (recipe_steps)."""
    script = (REPO / "egs2/TEMPLATE/enh_ssl1/enh_ssl.sh").read_text()
    code = "\n".join(ln for ln in script.splitlines() if not ln.lstrip().startswith("#"))
    for needle in ("md5sum", "spk${n}", "ref_scp", "summary.json", "wer.json", "/.done", "}_noisy",
                   "est_scp", "enh_out", "declare -A"):
        assert needle not in code, needle
    assert not re.search(r"\bfor n in \$\(seq", code)
