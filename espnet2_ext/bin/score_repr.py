"""``python -m espnet2_ext.bin.score_repr``: frame MSE and soft-DTW divergence between the upstream's features of each front-end's output and of the clean reference (stage 5); see :mod:`espnet2_ext.recipe.scoring.representation`."""

import sys

from espnet2_ext.recipe.scoring.representation import cli

if __name__ == "__main__":
    sys.exit(cli())
