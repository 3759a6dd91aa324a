"""The probe's layering: no module imports ESPnet itself (the criterions bring ESPnet); file reading,
writing and pocketsphinx decoding are the recipes' own functions (which load neither ESPnet nor torch),
never copies of them; the recipes never import the probe."""

import ast
import pathlib

import espnet2_ext.probe
import espnet2_ext.recipe

PKG = pathlib.Path(espnet2_ext.probe.__file__).parent
RECIPE = pathlib.Path(espnet2_ext.recipe.__file__).parent
#: the recipe modules the probe may use: tables, audio files, errors, the pocketsphinx decoder
RECIPE_HELPERS = {"espnet2_ext.recipe.common.audio", "espnet2_ext.recipe.common.cli",
                  "espnet2_ext.recipe.common.kaldi", "espnet2_ext.recipe.scoring.sphinx"}


def imported(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_probe_imports_no_espnet_and_only_the_recipes_helpers():
    files = sorted(PKG.glob("*.py"))
    assert len(files) >= 8
    bad = [(f.name, m) for f in files for m in imported(f) if m.split(".")[0] in ("espnet", "espnet2")]
    assert bad == []
    recipe = {(f.name, m) for f in files for m in imported(f) if m.startswith("espnet2_ext.recipe")}
    assert {m for _, m in recipe} <= RECIPE_HELPERS, recipe
    # the readers, the writer and the decoder are used, not re-implemented here
    assert {("data.py", "espnet2_ext.recipe.common.kaldi"), ("data.py", "espnet2_ext.recipe.common.audio"),
            ("report.py", "espnet2_ext.recipe.common.kaldi"),
            ("recognizer.py", "espnet2_ext.recipe.scoring.sphinx")} <= recipe
    # the criterions are used through their module (lazily), never re-implemented here
    assert "espnet2_ext.enh.loss.criterions.ssl" in set(imported(PKG / "losses.py"))


def test_recipes_do_not_import_the_probe():
    users = [str(p.relative_to(RECIPE)) for p in RECIPE.rglob("*.py")
             if any(m.startswith("espnet2_ext.probe") for m in imported(p))]
    assert users == []


def test_modules_stay_small():
    for f in PKG.glob("*.py"):
        assert len(f.read_text().splitlines()) <= 400, f.name
