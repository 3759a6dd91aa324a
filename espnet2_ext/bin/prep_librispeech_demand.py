"""``python -m espnet2_ext.bin.prep_librispeech_demand``: validate LibriSpeech + DEMAND, write data/{train,dev,test_seen,test_unseen} with per-set noise lists (stage 1).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.corpora.librispeech_demand import cli

if __name__ == "__main__":
    sys.exit(cli())
