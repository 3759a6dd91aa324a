"""Source ``hubert_base``, ``wavlm_large``, ...: a torchaudio pipeline bundle (downloads on first use)."""

from typing import Any, Dict, Optional, Tuple

from torch import nn

from espnet2_ext.ssl import presets
from espnet2_ext.ssl._torchaudio import bundle_state_dict
from espnet2_ext.ssl.errors import SSLDownloadError
from espnet2_ext.ssl.sources.arch import build_model, load_state

#: options of this source
OPTIONS = frozenset({"dl_kwargs"})


def load(name: str, dl_kwargs: Optional[Dict[str, Any]] = None) -> Tuple[nn.Module, Dict[str, Any]]:
    """Download (or read from the torch.hub cache, honouring ``TORCH_HOME``) a bundle's weights."""
    b = presets.bundle(name)
    model_type, params, normalize = presets.arch_spec(name)
    try:
        # fetch first: offline failures are reported before building a large model
        state_dict = bundle_state_dict(b, dl_kwargs)
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
