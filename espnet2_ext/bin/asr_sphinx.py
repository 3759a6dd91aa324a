"""``python -m espnet2_ext.bin.asr_sphinx``: independent pocketsphinx ASR + WER (stage 6).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.sphinx import cli

if __name__ == "__main__":
    sys.exit(cli())
