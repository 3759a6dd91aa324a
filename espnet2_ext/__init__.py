"""espnet2_ext: SSL-representation losses, guided PIT and soft-DTW for ESPnet.

Importing the package registers its criterions, loss wrappers and frontends
into ESPnet's ``ClassChoices`` (see :mod:`espnet2_ext.plugin`), so that a plain
ESPnet YAML config can name them.  Use the ``python -m espnet2_ext.bin.<tool>``
entry points (or ``import espnet2_ext`` before ESPnet builds a model) to get
the registration.
"""

__version__ = "0.1.0"

from espnet2_ext.plugin import register  # noqa: E402

register()
