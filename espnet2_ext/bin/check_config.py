"""``python -m espnet2_ext.bin.check_config``: validate ESPnet configs before any work (``--task enh|asr|asr_inference CONFIG...``); see :mod:`espnet2_ext.recipe.config.check`.  Exit status 1 with one ``CONFIG: key: why`` line per problem.

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.config.check import cli

if __name__ == "__main__":
    sys.exit(cli())
