"""espnet2_ext: SSL-representation losses, guided PIT and soft-DTW for ESPnet.

Importing the package registers its criterions, loss wrappers and frontends
into ESPnet's ``ClassChoices`` (see :mod:`espnet2_ext.plugin`), so that a plain
ESPnet YAML config can name them: at once if ESPnet's enh/asr tasks are
already loaded, otherwise when they are first imported (importing
espnet2_ext alone does not load ESPnet).  Use the ``python -m espnet2_ext.bin.<tool>``
entry points (or ``import espnet2_ext`` before ESPnet builds a model) to get
the registration.
"""

__version__ = "0.1.0"

from espnet2_ext.plugin import register, register_on_espnet_import  # noqa: E402

register_on_espnet_import()
