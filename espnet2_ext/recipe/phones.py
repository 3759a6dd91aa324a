"""Phoneme targets for the SUPERB-style phoneme-recognition downstream (stage 7).

Words become phones through the CMU pronouncing dictionary that the
``pocketsphinx`` package ships offline (``<model path>/en-us/cmudict-en-us.dict``;
``--dict`` for another file in the same format: ``word PH1 PH2 ...``).  Stress
digits are stripped (``AH0`` -> ``AH``); of alternative pronunciations
(``word(2)``) the first listed is taken.

Policy for words the dictionary lacks: the utterance is left out of the phone
data dir (it cannot have a correct target) and listed, with its unknown words,
in ``OUT_DIR/oov.txt``; a set left with no utterance is an error.  PER is then
scored over the utterances that have phone targets.

Subcommands (``python -m espnet2_ext.bin.phone_data CMD``):

* ``data``: a Kaldi data dir whose ``text`` holds space-separated phones;
* ``tokens``: its token list (``<blank>``, ``<unk>``, phones by decreasing
  count, ``<sos/eos>``), for ESPnet's ``--token_type word``;
* ``shapes``: the shape files of ESPnet's ``--collect_stats`` for raw audio
  and word tokens (``speech_shape``, ``text_shape``, ``text_shape.word``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.recipe.common import (
    RecipeError,
    read_table,
    run_cli,
    write_data_dir,
    write_table,
    write_text_atomic,
)

_ALT = re.compile(r"^(?P<word>.+)\((?P<n>\d+)\)$")
_STRESS = re.compile(r"\d+$")


def default_dict() -> Path:
    """The CMU dictionary inside the installed pocketsphinx package."""
    try:
        from pocketsphinx import get_model_path
    except ImportError:
        raise RecipeError("pocketsphinx is not installed (it ships the CMU dictionary); "
                          "pip install pocketsphinx or give --dict") from None
    p = Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"
    if not p.is_file():
        raise RecipeError(f"the pocketsphinx package has no CMU dictionary at {p}; give --dict")
    return p


def load_lexicon(path: Path) -> Dict[str, List[str]]:
    """``WORD -> [PHONES]`` (upper case, stress digits stripped, first pronunciation)."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"pronunciation dictionary {path} does not exist")
    lex: Dict[str, List[str]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith(";;;"):
                continue
            parts = line.split()
            if len(parts) < 2:
                raise RecipeError(f"{path}:{n}: a word without phones: {line!r}")
            m = _ALT.match(parts[0])
            word = (m.group("word") if m else parts[0]).upper()
            if word in lex:  # an alternative, or a repeat: the first one wins
                continue
            lex[word] = [_STRESS.sub("", p).upper() for p in parts[1:]]
    if not lex:
        raise RecipeError(f"pronunciation dictionary {path} is empty")
    return lex


def to_phones(words: str, lex: Dict[str, List[str]]) -> Tuple[List[str], List[str]]:
    """``(phones, unknown words)`` of a transcription."""
    phones: List[str] = []
    oov: List[str] = []
    for w in words.upper().split():
        if w in lex:
            phones += lex[w]
        else:
            oov.append(w)
    return phones, oov


def make_phone_dir(src: Path, out: Path, lex: Dict[str, List[str]]) -> Tuple[int, int]:
    """Write ``out`` from ``src`` with phone transcriptions; returns ``(kept, dropped)``."""
    src, out = Path(src), Path(out)
    wav = read_table(src / "wav.scp", "wav.scp")
    text = read_table(src / "text", "text")
    utt2spk = read_table(src / "utt2spk", "utt2spk")
    utt2dur = read_table(src / "utt2dur", "utt2dur")
    phn: Dict[str, str] = {}
    dropped: Dict[str, str] = {}
    for utt in wav:
        if utt not in text:
            raise RecipeError(f"{src}/text has no transcription of {utt}")
        p, oov = to_phones(text[utt], lex)
        if oov or not p:
            dropped[utt] = " ".join(oov) or "(empty transcription)"
        else:
            phn[utt] = " ".join(p)
    if not phn:
        raise RecipeError(f"no utterance of {src} can be written in phones: every one has words "
                          f"the dictionary lacks (e.g. {next(iter(dropped.values()))})")
    keep = sorted(phn)
    write_data_dir(out, {k: wav[k] for k in keep}, phn, {k: utt2spk[k] for k in keep},
                   {k: float(utt2dur[k]) for k in keep})
    write_table(out / "oov.txt", dropped)
    return len(keep), len(dropped)


def phone_tokens(texts: Sequence[str]) -> List[str]:
    counts: Counter = Counter()
    for t in texts:
        counts.update(t.split())
    return ["<blank>", "<unk>"] + sorted(counts, key=lambda c: (-counts[c], c)) + ["<sos/eos>"]


def main_data(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="phone_data data", description="phone data dir")
    p.add_argument("--src_dir", required=True, help="Kaldi data dir with word transcriptions")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--dict", default="", help="pronunciation dictionary (default: pocketsphinx's CMU dict)")
    a = p.parse_args(argv)
    lex = load_lexicon(Path(a.dict) if a.dict else default_dict())
    kept, dropped = make_phone_dir(Path(a.src_dir), Path(a.out_dir), lex)
    msg = f"{a.out_dir}: {kept} utterances in phones"
    if dropped:
        msg += f", {dropped} left out for words missing from the dictionary (see {a.out_dir}/oov.txt)"
    print(msg, flush=True)
    return 0


def main_tokens(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="phone_data tokens", description="phone token list")
    p.add_argument("--text", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    table = read_table(Path(a.text), "phone text")
    write_text_atomic(Path(a.out), "\n".join(phone_tokens(list(table.values()))) + "\n",
                      keep_same=True)
    return 0


def main_shapes(argv: Optional[Sequence[str]] = None) -> int:
    import soundfile as sf

    p = argparse.ArgumentParser(prog="phone_data shapes", description="ESPnet shape files")
    p.add_argument("--data_dir", required=True)
    p.add_argument("--token_list", required=True)
    p.add_argument("--out_dir", required=True)
    a = p.parse_args(argv)
    d = Path(a.data_dir)
    wav = read_table(d / "wav.scp", "wav.scp")
    text = read_table(d / "text", "text")
    if set(wav) != set(text):
        raise RecipeError(f"{d}: wav.scp and text list different utterances")
    if not Path(a.token_list).is_file():
        raise RecipeError(f"token list {a.token_list} does not exist")
    vocab = len(Path(a.token_list).read_text(encoding="utf-8").split())
    speech, txt, txt_v = {}, {}, {}
    for utt, path in wav.items():
        try:
            speech[utt] = str(sf.info(path.strip()).frames)
        except Exception as e:
            raise RecipeError(f"cannot read {path} ({utt}): {e}") from None
        n = len(text[utt].split())
        txt[utt] = str(n)
        txt_v[utt] = f"{n},{vocab}"
    out = Path(a.out_dir)
    write_table(out / "speech_shape", speech)
    write_table(out / "text_shape", txt)
    write_table(out / "text_shape.word", txt_v)
    return 0


def cli(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    cmds = {"data": main_data, "tokens": main_tokens, "shapes": main_shapes}
    if not argv or argv[0] not in cmds:
        print(f"usage: phone_data {{{','.join(cmds)}}} ...", file=sys.stderr)
        return 2
    return run_cli(cmds[argv[0]], argv[1:])
