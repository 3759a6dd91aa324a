"""``python -m espnet2_ext.bin.position_probe``: the positional-shortcut probe (see docs/position_probe.md).

Per layer of an upstream, how much a representation loss (``ssl_mse``,
``ssl_mse_pad``, ``ssl_sdtw``) rewards position rather than content:
``probe.json``, ``probe.md`` and ``probe.png`` in ``--out``.
"""

import sys

from espnet2_ext.probe.cli import main

if __name__ == "__main__":
    sys.exit(main())
