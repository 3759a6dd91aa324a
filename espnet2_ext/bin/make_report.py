"""``python -m espnet2_ext.bin.make_report``: RESULTS.md and the convergence plot of a recipe run (stage 8); see :mod:`espnet2_ext.recipe.report.results`.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.report.results import cli

if __name__ == "__main__":
    sys.exit(cli())
