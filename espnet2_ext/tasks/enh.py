"""ESPnet's ``EnhancementTask`` with espnet2_ext registered (see the package doc)."""

import espnet2_ext  # noqa: F401  (registers our names into ESPnet)
from espnet2.tasks.enh import EnhancementTask as _Base


class EnhancementTask(_Base):
    """``espnet2.tasks.enh.EnhancementTask``, importable from espnet2_ext."""
