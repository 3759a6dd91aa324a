"""``python -m espnet2_ext.bin.sep_asr_sphinx``: pocketsphinx on each separated stream + cpWER/ORC-WER (separation stage 6).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.mswer import cli_sphinx

if __name__ == "__main__":
    sys.exit(cli_sphinx())
