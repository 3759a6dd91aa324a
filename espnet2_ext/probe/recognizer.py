"""An optional independent recognizer for the optimisation probe: pocketsphinx.

:func:`sphinx_recognizer` returns ``recognize(wav (T,)) -> str`` (upper-case
words) using pocketsphinx's bundled US-English acoustic model with the given
pronunciation dictionary and language model (for AN4: ``etc/an4.dic`` and
``etc/an4.ug.lm``).  A recognizer no front-end or upstream was trained with.
The decoder is the recipes' (:mod:`espnet2_ext.recipe.scoring.sphinx`, stage
6), so the probe's WER and the recipe's come from one decoding path.
"""

from pathlib import Path
from typing import Callable

import torch

from espnet2_ext.probe.data import ProbeError
from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.scoring.sphinx import decode, make_decoder


def sphinx_recognizer(dictionary: str, lm: str) -> Callable[[torch.Tensor], str]:
    """A pocketsphinx decoder as a function of a 16 kHz waveform (T,)."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        raise ProbeError("--sphinx_dict/--sphinx_lm need pocketsphinx (pip install pocketsphinx)") from None
    for p, what in ((dictionary, "--sphinx_dict"), (lm, "--sphinx_lm")):
        if not Path(p).is_file():
            raise ProbeError(f"{what} {p} does not exist")
    try:
        decoder = make_decoder(str(dictionary), str(lm))
    except RecipeError as e:
        raise ProbeError(f"--sphinx_dict/--sphinx_lm: {e}") from None

    def recognize(wav: torch.Tensor) -> str:
        return decode(decoder, wav.detach().cpu().double().numpy())

    return recognize
