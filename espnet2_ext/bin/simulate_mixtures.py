"""``python -m espnet2_ext.bin.simulate_mixtures``: two-speaker reverberant noisy mixtures of a data dir (separation stage 2).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.sep_simulate import cli

if __name__ == "__main__":
    sys.exit(cli())
