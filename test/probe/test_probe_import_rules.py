"""The probe's layering: no module imports ESPnet or recipe code itself (the criterions bring ESPnet)."""

import ast
import pathlib

import espnet2_ext.probe

PKG = pathlib.Path(espnet2_ext.probe.__file__).parent


def imported(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_probe_imports_neither_espnet_nor_recipes():
    files = sorted(PKG.glob("*.py"))
    assert len(files) >= 8
    bad = [(f.name, m) for f in files for m in imported(f)
           if m.split(".")[0] in ("espnet", "espnet2") or m.startswith("espnet2_ext.recipe")]
    assert bad == []
    # the criterions are used through their module (lazily), never re-implemented here
    assert "espnet2_ext.enh.loss.criterions.ssl" in set(imported(PKG / "losses.py"))


def test_modules_stay_small():
    for f in PKG.glob("*.py"):
        assert len(f.read_text().splitlines()) <= 400, f.name
