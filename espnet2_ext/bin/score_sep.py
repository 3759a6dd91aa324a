"""``python -m espnet2_ext.bin.score_sep``: SI-SDR, SI-SDRi and STOI of separated speech under the best permutation (separation stage 5).

Recipes run this file by path, which loads no ESPnet (see espnet2_ext.recipe).
"""

import sys

if __name__ == "__main__" and not __package__:  # run by path: skip ESPnet registration
    import types
    from pathlib import Path

    _pkg = Path(__file__).resolve().parents[1]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _pkg / "bin"]
    if "espnet2_ext" not in sys.modules:
        _stub = types.ModuleType("espnet2_ext")
        _stub.__path__ = [str(_pkg)]
        sys.modules["espnet2_ext"] = _stub

from espnet2_ext.recipe.sep_score import cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(cli())
