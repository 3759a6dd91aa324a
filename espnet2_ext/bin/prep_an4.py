"""``python -m espnet2_ext.bin.prep_an4``: validate AN4, write data/{train,dev,test} (stage 1 of mini_an4).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.corpora.an4 import cli

if __name__ == "__main__":
    sys.exit(cli())
