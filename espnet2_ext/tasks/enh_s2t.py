"""ESPnet's ``EnhS2TTask`` with espnet2_ext registered (see the package doc)."""

import espnet2_ext  # noqa: F401  (registers our names into ESPnet)
from espnet2.tasks.enh_s2t import EnhS2TTask as _Base


class EnhS2TTask(_Base):
    """``espnet2.tasks.enh_s2t.EnhS2TTask``, importable from espnet2_ext."""
