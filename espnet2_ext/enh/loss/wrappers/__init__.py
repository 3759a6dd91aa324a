"""Loss wrappers registered by espnet2_ext (see ``gpit``)."""
