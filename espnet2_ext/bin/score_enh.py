"""``python -m espnet2_ext.bin.score_enh``: SI-SDR, PESQ, STOI, ESTOI of enhanced speech (stage 5).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.score import cli

if __name__ == "__main__":
    sys.exit(cli())
