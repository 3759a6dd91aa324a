"""``python -m espnet2_ext.bin.phone_data data|tokens|shapes``: phoneme targets from the CMU
dictionary (``downstream_data phones|tokens|shapes`` with word tokens: one per phone).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import functools
import sys

from espnet2_ext.recipe.common.cli import run_subcommand
from espnet2_ext.recipe.downstream.phones import main_phones
from espnet2_ext.recipe.downstream.tokens import main_shapes, main_tokens

if __name__ == "__main__":
    word = {"default_type": "word"}
    sys.exit(run_subcommand("phone_data", {"data": main_phones,
                                           "tokens": functools.partial(main_tokens, **word),
                                           "shapes": functools.partial(main_shapes, **word)}))
