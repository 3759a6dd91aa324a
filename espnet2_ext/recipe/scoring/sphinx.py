"""Independent ASR with pocketsphinx (stage 6): decode N streams, score them
against N speakers.

A recognizer no front-end was trained with: pocketsphinx's bundled US-English
acoustic model with a pronunciation dictionary and a language model (default:
the CMU dictionary and en-us LM it ships; AN4 gives its own ``etc/an4.dic``
and ``etc/an4.ug.lm``).

* ``asr_sphinx decode --wav_scp S1 [--wav_scp S2 ...] [--key_file K] --out_dir D``
  decodes stream n (of the utterances in K) into ``D/text_stream{n}``
  (Kaldi-style, upper case); the stage script runs one such job per part of
  the utterances (``--inference_nj``);
* ``asr_sphinx score --ref R1 [--ref R2 ...] --out_dir D PART...`` gathers the
  parts' ``text_stream{n}`` into ``D/text_stream{n}`` and scores them:
  one stream against one speaker by the WER (:mod:`.wer`), otherwise by
  cpWER and ORC-WER (:mod:`.mswer`), into ``D/wer.json``.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_ext.recipe.common.cli import RecipeError, run_subcommand
from espnet2_ext.recipe.common.kaldi import read_table, write_table
from espnet2_ext.recipe.scoring import mswer, wer
from espnet2_ext.recipe.scoring.decode import decode_scp


def model_files(dic: str = "", lm: str = "") -> Tuple[Path, Path, Path]:
    """``(acoustic model dir, dictionary, LM)``; an empty dictionary / LM: pocketsphinx's own."""
    try:
        from pocketsphinx import get_model_path
    except ImportError:
        raise RecipeError("pocketsphinx is not installed (pip install pocketsphinx)") from None
    base = Path(get_model_path()) / "en-us"
    out = (base / "en-us", Path(dic) if dic else base / "cmudict-en-us.dict",
           Path(lm) if lm else base / "en-us.lm.bin")
    for p, what in ((out[1], "dictionary"), (out[2], "language model")):
        if not p.is_file():
            raise RecipeError(f"pocketsphinx {what} {p} does not exist")
    return out


def make_decoder(dic: str = "", lm: str = ""):
    from pocketsphinx import Config, Decoder

    hmm, dic_path, lm_path = model_files(dic, lm)
    config = Config(hmm=str(hmm), dict=str(dic_path), lm=str(lm_path), samprate=16000,
                    loglevel="FATAL")
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


def score(refs: Sequence[Path], hyps: Sequence[Path], out: Path, norm: Callable[[str], str] = wer.normalize) -> str:
    """Score ``hyps`` (one text per stream) against ``refs`` (one per speaker) into
    ``out`` (both sides normalised by ``norm``); returns the summary line."""
    if len(refs) == 1 and len(hyps) == 1:
        return wer.summary_line(wer.score_files(refs[0], hyps[0], out, norm))
    return mswer.summary_line(mswer.score_files(refs, hyps, out, norm))


def main_decode(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="asr_sphinx decode", description="pocketsphinx on N streams")
    p.add_argument("--wav_scp", required=True, action="append",
                   help="the signals of stream n (give once per stream)")
    p.add_argument("--key_file", default="", help="decode only these utterances (first column)")
    p.add_argument("--out_dir", required=True, help="writes OUT_DIR/text_stream{n}")
    p.add_argument("--dict", default="", help="pronunciation dictionary (default: pocketsphinx's)")
    p.add_argument("--lm", default="", help="language model (default: pocketsphinx's en-us)")
    a = p.parse_args(argv)
    keys = list(read_table(Path(a.key_file), "key file")) if a.key_file else None
    _, dic, lm = model_files(a.dict, a.lm)
    print(f"pocketsphinx: dictionary {dic}, language model {lm}", flush=True)
    decoder = make_decoder(a.dict, a.lm)
    for n, scp in enumerate(a.wav_scp, 1):
        decode_scp(partial(decode, decoder), Path(scp), Path(a.out_dir) / f"text_stream{n}", keys, "sphinx")
    return 0


def main_score(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="asr_sphinx score",
                                description="gather the decoded parts, WER or cpWER/ORC-WER")
    p.add_argument("--ref", required=True, action="append",
                   help="reference text of speaker n (give once per speaker)")
    p.add_argument("--out_dir", required=True,
                   help="writes OUT_DIR/text_stream{n} and OUT_DIR/wer.json")
    p.add_argument("parts", nargs="+", help="the decode jobs' output dirs")
    a = p.parse_args(argv)
    out = Path(a.out_dir)
    streams = sorted((f.name for f in Path(a.parts[0]).glob("text_stream*")),
                     key=lambda name: int(name[len("text_stream"):]))
    if not streams:
        raise RecipeError(f"{a.parts[0]} holds no decoded stream (text_stream*)")
    hyps: List[Path] = []
    for name in streams:
        merged: Dict[str, str] = {}
        for part in a.parts:
            merged.update(read_table(Path(part) / name, "decoded stream"))
        write_table(out / name, merged)
        hyps.append(out / name)
    print(score([Path(r) for r in a.ref], hyps, out / "wer.json"), flush=True)
    return 0


def cli(argv=None) -> int:
    return run_subcommand("asr_sphinx", {"decode": main_decode, "score": main_score}, argv)
