"""``python -m espnet2_ext.bin.asr_whisper decode|normalize``: Whisper as an independent recognizer (stage 6); see :mod:`espnet2_ext.recipe.scoring.whisper`.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.scoring.whisper import cli

if __name__ == "__main__":
    sys.exit(cli())
