"""``python -m espnet2_ext.bin.prep_librispeech_demand``: validate LibriSpeech + DEMAND,
write data/{train,dev,test_seen,test_unseen} with per-set noise lists (stage 1)."""

import sys

from espnet2_ext.recipe.librispeech_demand import cli

if __name__ == "__main__":
    sys.exit(cli())
