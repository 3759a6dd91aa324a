"""``python -m espnet2_ext.bin.check_config --task enh|asr|asr_inference CONFIG...``: validate configs before any work.

See :mod:`espnet2_ext.recipe.config_check`.  Exit status 1 with one
``CONFIG: key: why`` line per problem when any config is bad.
"""

import sys

from espnet2_ext.recipe.config_check import cli

if __name__ == "__main__":
    sys.exit(cli())
