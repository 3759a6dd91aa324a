"""``python -m espnet2_ext.bin.launch``: run a recipe command locally or on Slurm.

See :mod:`espnet2_ext.launch.cli` for the usage (Kaldi ``run.pl`` semantics).

Recipes call it as ``python -m espnet2_ext.bin.launch`` (``cmd.sh``); importing
espnet2_ext registers into ESPnet lazily, so the launcher starts without
loading ESPnet (about 0.1 s).
"""

import sys

from espnet2_ext.launch.cli import main

if __name__ == "__main__":
    sys.exit(main())
