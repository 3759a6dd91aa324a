"""``python -m espnet2_ext.bin.score_sep``: ``score_enh`` under its separation name (the same
tool: N references, ``--mix_scp`` for SI-SDRi).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.scoring.signals import cli

if __name__ == "__main__":
    sys.exit(cli())
