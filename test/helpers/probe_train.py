"""``python -m helpers.probe_train ...``: enh_train with the length probe registered."""

import helpers.length_probe  # noqa: F401
from espnet2_ext.bin.enh_train import main

if __name__ == "__main__":
    main()
