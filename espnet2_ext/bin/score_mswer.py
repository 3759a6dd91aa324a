"""``python -m espnet2_ext.bin.score_mswer``: cpWER and ORC-WER of hypothesis streams against per-speaker references (meeteval).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.scoring.mswer import cli

if __name__ == "__main__":
    sys.exit(cli())
