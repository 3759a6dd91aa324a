"""``python -m espnet2_ext.bin.recipe_steps``: the stage script's questions: step markers, the exp/ layout, moving outputs between steps; see :mod:`espnet2_ext.recipe.steps.cli`.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.steps.cli import cli

if __name__ == "__main__":
    sys.exit(cli())
