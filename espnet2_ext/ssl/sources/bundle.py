"""Source ``hubert_base``, ``wavlm_large``, ...: a torchaudio pipeline bundle (downloads on first use)."""

import os
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlparse

from torch import nn

from espnet2_ext.ssl import presets
from espnet2_ext.ssl._torchaudio import bundle_state_dict, bundle_url_path
from espnet2_ext.ssl.errors import SSLDownloadError
from espnet2_ext.ssl.sources.arch import build_model, load_state

#: options of this source
OPTIONS = frozenset({"dl_kwargs"})


def _dl_kwargs(name: str, dl_kwargs: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    if dl_kwargs is not None and not isinstance(dl_kwargs, dict):
        raise ValueError(f"dl_kwargs of SSL upstream {name!r} must be a mapping, got {type(dl_kwargs).__name__}")
    return dict(dl_kwargs or {})


def bundle_cache_file(name: str, dl_kwargs: Optional[Dict[str, Any]] = None) -> str:
    """Where torch.hub keeps the weights of bundle ``name`` (whether they are there or not).

    The path :func:`load` reads (or downloads to) with the same ``dl_kwargs``:
    ``dl_kwargs["model_dir"]`` or ``$TORCH_HOME/hub/checkpoints``, and
    ``dl_kwargs["file_name"]`` or the basename of the bundle's URL, as
    ``torch.hub.load_state_dict_from_url`` names it.  Touches no file.
    """
    import torch.hub

    dl = _dl_kwargs(name, dl_kwargs)
    url = bundle_url_path(presets.bundle(name))
    model_dir = dl.get("model_dir") or os.path.join(torch.hub.get_dir(), "checkpoints")
    return os.path.join(model_dir, dl.get("file_name") or os.path.basename(urlparse(url).path))


def load(name: str, dl_kwargs: Optional[Dict[str, Any]] = None) -> Tuple[nn.Module, Dict[str, Any]]:
    """Download (or read from the torch.hub cache, honouring ``TORCH_HOME``) a bundle's weights."""
    b = presets.bundle(name)
    model_type, params, normalize = presets.arch_spec(name)
    dl = _dl_kwargs(name, dl_kwargs)
    try:
        # fetch first: offline failures are reported before building a large model
        state_dict = bundle_state_dict(b, dl)
    except Exception as e:  # urllib / socket / HTTP / hash errors all mean "no weights"
        raise SSLDownloadError(
            f"Could not download the pretrained weights of the SSL model {name!r} "
            f"(torchaudio.pipelines.{presets.BUNDLES[name]}): {type(e).__name__}: {e}. "
            "If this machine is offline, either pre-populate the torch.hub cache "
            "(TORCH_HOME) on a connected machine, or use a local file with "
            f"name='{presets.CHECKPOINT_PREFIX}/path/to/weights.pt' (plus arch='{name}' for a "
            "torchaudio state dict), or an upstream whose weights ship in a pip package "
            f"({', '.join(presets.WHISPER)}), or name='tiny' (small random model, for tests "
            "and mini recipes only)."
        ) from None
    model = build_model(model_type, params)
    load_state(model, state_dict, f"bundle {name!r}")
    info = {"source": name, "backend": "wav2vec2", "model_type": model_type, "params": params,
            "normalize_waveform": normalize}
    return model, info
