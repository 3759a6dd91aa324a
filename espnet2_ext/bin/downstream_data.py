"""``python -m espnet2_ext.bin.downstream_data``: token lists, shape files and phone targets of the downstream tasks (stage 7); see :mod:`espnet2_ext.recipe.downstream.tokens`.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.downstream.tokens import cli

if __name__ == "__main__":
    sys.exit(cli())
