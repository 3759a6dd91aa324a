"""Frozen speech encoders (HuBERT / WavLM / wav2vec 2.0 / Whisper) used as loss feature extractors.

Layout: :mod:`.upstream` (the generic :class:`SSLUpstream`), :mod:`.sources`
(where weights come from, one loader per kind), :mod:`.backends` (how each
model family computes padding-invariant hidden states), :mod:`.layers`
(layer choice), :mod:`.presets` (names and tables).  Only
:mod:`espnet2_ext.ssl.frontend` imports ESPnet; it is not imported here.
"""

from espnet2_ext.ssl.errors import SSLCheckpointError, SSLDownloadError, SSLPackageError, SSLUpstreamError
from espnet2_ext.ssl.layers import combine_layers, parse_layers
from espnet2_ext.ssl.presets import BUNDLES, CHECKPOINT_PREFIX, TINY_PARAMS, UPSTREAM_NAMES, WHISPER
from espnet2_ext.ssl.sources import SOURCE_OPTIONS, classify_source, known_num_layers
from espnet2_ext.ssl.sources.bundle import bundle_cache_file
from espnet2_ext.ssl.sources.whisper import load_whisper, missing_whisper_packages
from espnet2_ext.ssl.upstream import SSLUpstream, build_tiny_model, build_upstream, save_checkpoint

__all__ = [
    "BUNDLES",
    "CHECKPOINT_PREFIX",
    "SOURCE_OPTIONS",
    "TINY_PARAMS",
    "UPSTREAM_NAMES",
    "WHISPER",
    "SSLUpstream",
    "SSLUpstreamError",
    "SSLDownloadError",
    "SSLCheckpointError",
    "SSLPackageError",
    "build_tiny_model",
    "bundle_cache_file",
    "build_upstream",
    "classify_source",
    "combine_layers",
    "known_num_layers",
    "load_whisper",
    "missing_whisper_packages",
    "parse_layers",
    "save_checkpoint",
]
