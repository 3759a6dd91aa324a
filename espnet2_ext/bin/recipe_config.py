"""``python -m espnet2_ext.bin.recipe_config set_upstream|char_tokens``: config helpers of the stage script.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.config import cli

if __name__ == "__main__":
    sys.exit(cli())
