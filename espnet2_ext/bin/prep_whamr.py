"""``python -m espnet2_ext.bin.prep_whamr``: WHAMR! -> Kaldi-style separation data dirs (stage 1 of whamr/sep1).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.corpora.whamr import cli

if __name__ == "__main__":
    sys.exit(cli())
