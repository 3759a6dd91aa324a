"""``python -m espnet2_ext.bin.espnet_runs``: several runs of one ESPnet entry point (``enh_train``, ``enh_inference``, ...) forked from one process that imported it once; see :mod:`espnet2_ext.recipe.common.espnet_runs`."""

import sys

from espnet2_ext.recipe.common.espnet_runs import cli

if __name__ == "__main__":
    sys.exit(cli())
