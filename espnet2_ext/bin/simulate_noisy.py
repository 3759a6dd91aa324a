"""``python -m espnet2_ext.bin.simulate_noisy``: noisy/reverberant copies of a data dir (stage 2).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.simulate import cli

if __name__ == "__main__":
    sys.exit(cli())
