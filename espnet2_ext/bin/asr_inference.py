"""``python -m espnet2_ext.bin.asr_inference``: ``espnet2.bin.asr_inference`` with our names registered."""

import espnet2_ext  # noqa: F401  (registration must precede model loading)
from espnet2.bin.asr_inference import get_parser, main  # noqa: F401

if __name__ == "__main__":
    main()
