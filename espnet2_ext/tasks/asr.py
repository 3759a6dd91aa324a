"""ESPnet's ``ASRTask`` with espnet2_ext registered (see the package doc)."""

import espnet2_ext  # noqa: F401  (registers our names into ESPnet)
from espnet2.tasks.asr import ASRTask as _Base


class ASRTask(_Base):
    """``espnet2.tasks.asr.ASRTask``, importable from espnet2_ext."""
