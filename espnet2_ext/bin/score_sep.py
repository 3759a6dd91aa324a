"""``python -m espnet2_ext.bin.score_sep``: SI-SDR, SI-SDRi and STOI of separated speech under the best permutation (separation stage 5).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.sep_score import cli

if __name__ == "__main__":
    sys.exit(cli())
