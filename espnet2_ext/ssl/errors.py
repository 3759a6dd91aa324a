"""Errors raised while building an SSL upstream (one hierarchy for every source)."""


class SSLUpstreamError(RuntimeError):
    """Base class of the upstream loading errors."""


class SSLDownloadError(SSLUpstreamError):
    """Pretrained weights of a torchaudio bundle could not be downloaded."""


class SSLCheckpointError(SSLUpstreamError):
    """A ``checkpoint:`` source (or a weights file a package ships) could not be read or understood."""


class SSLPackageError(SSLUpstreamError):
    """The pip package that ships an upstream's weights is not installed."""
