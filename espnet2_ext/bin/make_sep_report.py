"""``python -m espnet2_ext.bin.make_sep_report``: RESULTS.md of a separation recipe (stage 8).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.sep_report import cli

if __name__ == "__main__":
    sys.exit(cli())
