"""Frozen SSL speech encoders (HuBERT / WavLM / wav2vec 2.0) used as loss feature extractors.

Only :mod:`espnet2_ext.ssl.frontend` imports ESPnet; it is not imported here.
"""

from espnet2_ext.ssl.presets import BUNDLES, CHECKPOINT_PREFIX, TINY_PARAMS, UPSTREAM_NAMES
from espnet2_ext.ssl.upstream import (
    SSLCheckpointError,
    SSLDownloadError,
    SSLUpstream,
    SSLUpstreamError,
    build_tiny_model,
    build_upstream,
    save_checkpoint,
)

__all__ = [
    "BUNDLES",
    "CHECKPOINT_PREFIX",
    "TINY_PARAMS",
    "UPSTREAM_NAMES",
    "SSLUpstream",
    "SSLUpstreamError",
    "SSLDownloadError",
    "SSLCheckpointError",
    "build_tiny_model",
    "build_upstream",
    "save_checkpoint",
]
