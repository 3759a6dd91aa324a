"""``python -m espnet2_ext.bin.recipe_config set_upstream|char_tokens|asr_shapes``: config
helpers of the stage script (``char_tokens``/``asr_shapes``: ``downstream_data tokens|shapes``
with character tokens).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.common.cli import run_subcommand
from espnet2_ext.recipe.config.edit import main_set_upstream
from espnet2_ext.recipe.downstream.tokens import main_shapes, main_tokens

if __name__ == "__main__":
    sys.exit(run_subcommand("recipe_config", {"set_upstream": main_set_upstream,
                                              "char_tokens": main_tokens, "asr_shapes": main_shapes}))
