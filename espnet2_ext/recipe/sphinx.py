"""Independent ASR with pocketsphinx (recipe stage 6).

A recognizer no front-end was trained with: pocketsphinx's bundled US-English
acoustic model with AN4's own pronunciation dictionary (``etc/an4.dic``) and
unigram LM (``etc/an4.ug.lm``).  Decodes a ``wav.scp`` into a Kaldi-style
hypothesis ``text`` (upper case) and, given ``--ref``, its WER.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from espnet2_ext.recipe.common import (
    SAMPLE_RATE,
    RecipeError,
    progress,
    read_audio,
    read_table,
    run_cli,
    wav_path,
    write_table,
)
from espnet2_ext.recipe.wer import score_files


def make_decoder(dic: Path, lm: Path):
    try:
        from pocketsphinx import Config, Decoder, get_model_path
    except ImportError:
        raise RecipeError("pocketsphinx is not installed (pip install pocketsphinx)") from None
    for p, what in ((dic, "dictionary"), (lm, "language model")):
        if not Path(p).is_file():
            raise RecipeError(f"pocketsphinx {what} {p} does not exist")
    config = Config(
        hmm=os.path.join(get_model_path(), "en-us", "en-us"),
        dict=str(dic),
        lm=str(lm),
        samprate=SAMPLE_RATE,
        loglevel="FATAL",
    )
    return Decoder(config)


def decode(decoder, x: np.ndarray) -> str:
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    words = hyp.hypstr.split() if hyp is not None else []
    words = [w.split("(")[0] for w in words if w not in ("<s>", "</s>", "<sil>")]
    return " ".join(words).upper()


def decode_scp(wav_scp: Path, out_text: Path, dic: Path, lm: Path) -> Dict[str, str]:
    table = read_table(wav_scp, "wav.scp")
    decoder = make_decoder(dic, lm)
    hyps: Dict[str, str] = {}
    for utt in progress(sorted(table), f"sphinx {wav_scp.parent.name}"):
        x, sr = read_audio(wav_path(table[utt], str(wav_scp)))
        if sr != SAMPLE_RATE:
            raise RecipeError(f"{table[utt]}: sample rate {sr}, expected {SAMPLE_RATE}")
        hyps[utt] = decode(decoder, x)
    write_table(out_text, hyps)
    return hyps


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asr_sphinx", description=__doc__.split("\n\n")[0])
    p.add_argument("--wav_scp", required=True)
    p.add_argument("--out_dir", required=True, help="writes OUT_DIR/text (and wer.json)")
    p.add_argument("--dict", required=True, help="pronunciation dictionary (AN4: etc/an4.dic)")
    p.add_argument("--lm", required=True, help="ARPA language model (AN4: etc/an4.ug.lm)")
    p.add_argument("--ref", default="", help="reference text: also compute the WER")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    out = Path(a.out_dir)
    decode_scp(Path(a.wav_scp), out / "text", Path(a.dict), Path(a.lm))
    if a.ref:
        r = score_files(Path(a.ref), out / "text", out / "wer.json")
        print(f"{a.wav_scp}: WER {r['wer']:.2f}%", flush=True)
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
