"""``python -m espnet2_ext.bin.score_enh``: SI-SDR(i), PESQ, STOI, ESTOI of N estimated speakers under the best permutation (stage 5); see :mod:`espnet2_ext.recipe.scoring.signals`.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.scoring.signals import cli

if __name__ == "__main__":
    sys.exit(cli())
