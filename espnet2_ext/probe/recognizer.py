"""An optional independent recognizer for the optimisation probe: pocketsphinx.

:func:`sphinx_recognizer` returns ``recognize(wav (T,)) -> str`` (upper-case
words) using pocketsphinx's bundled US-English acoustic model with the given
pronunciation dictionary and language model (for AN4: ``etc/an4.dic`` and
``etc/an4.ug.lm``).  A recognizer no front-end or upstream was trained with.
"""

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from espnet2_ext.probe.data import SAMPLE_RATE, ProbeError


def sphinx_recognizer(dictionary: str, lm: str) -> Callable[[torch.Tensor], str]:
    """A pocketsphinx decoder as a function of a 16 kHz waveform (T,)."""
    try:
        from pocketsphinx import Config, Decoder, get_model_path
    except ImportError:
        raise ProbeError("--sphinx_dict/--sphinx_lm need pocketsphinx (pip install pocketsphinx)") from None
    for p, what in ((dictionary, "--sphinx_dict"), (lm, "--sphinx_lm")):
        if not Path(p).is_file():
            raise ProbeError(f"{what} {p} does not exist")
    config = Config(
        hmm=str(Path(get_model_path()) / "en-us" / "en-us"),
        dict=str(dictionary),
        lm=str(lm),
        samprate=SAMPLE_RATE,
        loglevel="FATAL",
    )
    decoder = Decoder(config)

    def recognize(wav: torch.Tensor) -> str:
        x = wav.detach().cpu().double().numpy()
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        words = hyp.hypstr.split() if hyp is not None else []
        return " ".join(w.split("(")[0] for w in words if w not in ("<s>", "</s>", "<sil>")).upper()

    return recognize
