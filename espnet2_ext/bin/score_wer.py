"""``python -m espnet2_ext.bin.score_wer``: WER of a hypothesis text against a reference text.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.scoring.wer import cli

if __name__ == "__main__":
    sys.exit(cli())
