"""Enhancement criterions registered by espnet2_ext (see ``ssl``)."""
