"""``python -m espnet2_ext.bin.count_encoder_passes``: encoder forward passes per training step, pit vs gpit (separation stage 8).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.sep_passes import cli

if __name__ == "__main__":
    sys.exit(cli())
