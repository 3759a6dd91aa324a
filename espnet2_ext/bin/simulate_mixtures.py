"""``python -m espnet2_ext.bin.simulate_mixtures``: ``simulate_noisy`` with the defaults of
two-speaker separation (``--num_spk 2 --reverb true --snrs "10 15 20"``; later options win).

Importing espnet2_ext loads no ESPnet, so the tool starts fast.
"""

import sys

from espnet2_ext.recipe.simulate.mixtures import cli

if __name__ == "__main__":
    sys.exit(cli(["--num_spk", "2", "--reverb", "true", "--snrs", "10 15 20"] + sys.argv[1:]))
