"""``python -m espnet2_ext.bin.prep_whamr``: WHAMR! -> Kaldi-style separation data dirs (separation stage 1).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.whamr import cli

if __name__ == "__main__":
    sys.exit(cli())
