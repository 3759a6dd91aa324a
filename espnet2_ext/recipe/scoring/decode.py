"""One recognizer over the utterances of a wav.scp (stage 6's decoding loop,
shared by pocketsphinx and Whisper): read each signal at 16 kHz, transcribe
it with ``recognize(signal) -> text``, write ``KEY TEXT`` lines."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError, progress
from espnet2_ext.recipe.common.kaldi import read_table, wav_path, write_table


def decode_scp(recognize: Callable, wav_scp: Path, out_text: Path, keys: Optional[Sequence[str]] = None,
               label: str = "decode") -> Dict[str, str]:
    """Transcribe the utterances of ``wav_scp`` (those in ``keys`` only, if given,
    in sorted order) into ``out_text``; returns the texts per key.  ``label``
    names the progress bar (e.g. the recognizer)."""
    from espnet2_ext.recipe.common.audio import read_16k

    wav_scp = Path(wav_scp)
    table = read_table(wav_scp, "wav.scp")
    if keys is not None:
        missing = sorted(set(keys) - set(table))
        if missing:
            raise RecipeError(f"{wav_scp} lacks {len(missing)} utterance(s), e.g. {missing[0]}")
    hyps: Dict[str, str] = {}
    for utt in progress(sorted(table if keys is None else keys), f"{label} {wav_scp.parent.name}"):
        hyps[utt] = recognize(read_16k(wav_path(table[utt], str(wav_scp)), table[utt]))
    write_table(out_text, hyps)
    return hyps
