"""``python -m espnet2_ext.bin.make_report``: RESULTS.md and the convergence plot (stage 8).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.report import cli

if __name__ == "__main__":
    sys.exit(cli())
