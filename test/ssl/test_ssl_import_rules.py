import ast
import pathlib

import espnet2_ext.augment
import espnet2_ext.ssl

PKGS = [pathlib.Path(espnet2_ext.ssl.__file__).parent, pathlib.Path(espnet2_ext.augment.__file__).parent]


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_only_frontend_imports_espnet():
    offenders = []
    seen_frontend = False
    for pkg in PKGS:
        for path in sorted(pkg.rglob("*.py")):
            mods = list(imported_modules(path))
            uses_espnet = any(m == "espnet" or m.startswith(("espnet.", "espnet2.")) or m == "espnet2" for m in mods)
            if path.name == "frontend.py" and pkg.name == "ssl":
                seen_frontend = uses_espnet
            elif uses_espnet:
                offenders.append(str(path))
    assert offenders == []
    assert seen_frontend  # the checker does see ESPnet imports
