"""``python -m espnet2_ext.bin.enh_scoring``: ``espnet2.bin.enh_scoring`` with our names registered."""

import espnet2_ext  # noqa: F401  (registration must precede model loading)
from espnet2.bin.enh_scoring import get_parser, main  # noqa: F401

if __name__ == "__main__":
    main()
