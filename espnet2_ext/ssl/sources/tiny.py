"""Source ``tiny``: a small HuBERT-architecture model, randomly initialised from a fixed seed."""

from typing import Any, Dict, Tuple

import torch
from torch import nn

from espnet2_ext.ssl.presets import TINY, TINY_PARAMS, TINY_SEED
from espnet2_ext.ssl.sources.arch import build_model

#: options of this source
OPTIONS = frozenset({"seed", "arch_conf"})


def build_tiny_model(seed: int = TINY_SEED, **overrides) -> Tuple[nn.Module, Dict[str, Any]]:
    """Build the ``tiny`` model with a fixed-seed initialisation.

    The global CPU RNG is forked (saved and restored), and only the CPU
    generator is re-seeded, so callers' random streams are unaffected.
    Returns ``(model, builder_params)``.
    """
    params = dict(TINY_PARAMS)
    unknown = set(overrides) - set(params)
    if unknown:
        raise ValueError(f"Unknown tiny-model parameters {sorted(unknown)}; known: {sorted(params)}")
    params.update(overrides)
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(int(seed))
        model = build_model("Wav2Vec2", params)
    return model, params


def load(name: str = TINY, seed: int = TINY_SEED, arch_conf=None) -> Tuple[nn.Module, Dict[str, Any]]:
    model, params = build_tiny_model(seed, **(arch_conf or {}))
    return model, {"source": TINY, "backend": "wav2vec2", "model_type": "Wav2Vec2", "params": params,
                   "normalize_waveform": False}
