"""``python -m espnet2_ext.bin.simulate_noisy``: noisy (optionally reverberant) mixtures of N speakers from a clean data dir (stage 2); see :mod:`espnet2_ext.recipe.simulate.mixtures`.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.simulate.mixtures import cli

if __name__ == "__main__":
    sys.exit(cli())
