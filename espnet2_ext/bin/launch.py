"""``python -m espnet2_ext.bin.launch``: run a recipe command locally or on Slurm.

See :mod:`espnet2_ext.launch.cli` for the usage (Kaldi ``run.pl`` semantics).

Recipes call this file by path (``python .../espnet2_ext/bin/launch.py``):
run that way it loads only ``espnet2_ext.launch`` and not the package's
registration into ESPnet, which imports all of ESPnet (about 10 s per call)
and which the launcher does not need.
"""

import sys

if __name__ == "__main__" and not __package__:  # run as a file, not with -m
    import types
    from pathlib import Path

    _pkg = Path(__file__).resolve().parents[1]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _pkg / "bin"]
    if "espnet2_ext" not in sys.modules:
        _stub = types.ModuleType("espnet2_ext")
        _stub.__path__ = [str(_pkg)]
        sys.modules["espnet2_ext"] = _stub

from espnet2_ext.launch.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
