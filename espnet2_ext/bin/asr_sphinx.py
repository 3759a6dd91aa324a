"""``python -m espnet2_ext.bin.asr_sphinx``: pocketsphinx on each stream of a front-end, then WER or cpWER/ORC-WER (stage 6); see :mod:`espnet2_ext.recipe.scoring.sphinx`.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.scoring.sphinx import cli

if __name__ == "__main__":
    sys.exit(cli())
