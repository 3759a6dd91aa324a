"""``python -m espnet2_ext.bin.phone_data``: phoneme targets from the CMU dictionary
(data dirs, token list, shape files) for the phoneme-recognition downstream (stage 7)."""

import sys

from espnet2_ext.recipe.phones import cli

if __name__ == "__main__":
    sys.exit(cli())
