"""Token lists and shape files of the downstream tasks, without starting ESPnet.

Token types (ESPnet's ``--token_type``): ``char`` (a Kaldi ``text`` of words:
its characters, ``<space>`` for blanks) and ``word`` (a ``text`` of
space-separated phones: each phone is a token).

* ``tokens``: ESPnet's token list of a ``text`` file (``<blank>``, ``<unk>``,
  tokens by decreasing count, ties in byte order, ``<sos/eos>``), as
  ``espnet2.bin.tokenize_text`` writes it;
* ``shapes``: what ``--collect_stats`` writes for raw audio and these tokens:
  ``speech_shape`` (samples per utterance), ``text_shape`` (tokens per
  utterance) and ``text_shape.<type>`` (with the vocabulary size appended);
* ``phones``: a phone data dir of a word data dir (:mod:`.phones`).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError, run_subcommand
from espnet2_ext.recipe.common.kaldi import read_table, write_table, write_text_atomic

TOKEN_TYPES = ("char", "word")


def tokenize(text: str, token_type: str) -> List[str]:
    if token_type == "char":
        return ["<space>" if ch == " " else ch for ch in " ".join(text.split())]
    return text.split()


def token_list(texts: Sequence[str], token_type: str) -> List[str]:
    counts: Counter = Counter()
    for t in texts:
        counts.update(tokenize(t, token_type))
    return ["<blank>", "<unk>"] + sorted(counts, key=lambda c: (-counts[c], c)) + ["<sos/eos>"]


def write_token_list(text: Path, out: Path, token_type: str) -> None:
    table: Dict[str, str] = read_table(Path(text), "text")
    write_text_atomic(Path(out), "\n".join(token_list(list(table.values()), token_type)) + "\n",
                      keep_same=True)


def write_shapes(data_dir: Path, tokens: Path, out_dir: Path, token_type: str) -> None:
    import soundfile as sf

    d = Path(data_dir)
    wav = read_table(d / "wav.scp", "wav.scp")
    text = read_table(d / "text", "text")
    if set(wav) != set(text):
        raise RecipeError(f"{d}: wav.scp and text list different utterances")
    if not Path(tokens).is_file():
        raise RecipeError(f"token list {tokens} does not exist")
    vocab = len(Path(tokens).read_text(encoding="utf-8").split())
    speech, txt, txt_v = {}, {}, {}
    for utt, path in wav.items():
        try:
            speech[utt] = str(sf.info(path.strip()).frames)
        except Exception as e:
            raise RecipeError(f"cannot read {path} ({utt}): {e}") from None
        n = len(tokenize(text[utt], token_type))
        txt[utt] = str(n)
        txt_v[utt] = f"{n},{vocab}"
    out = Path(out_dir)
    write_table(out / "speech_shape", speech)
    write_table(out / "text_shape", txt)
    write_table(out / f"text_shape.{token_type}", txt_v)


def _token_type(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--token_type", default=default, choices=TOKEN_TYPES)


def main_tokens(argv: Optional[Sequence[str]] = None, default_type: str = "char") -> int:
    p = argparse.ArgumentParser(prog="downstream_data tokens", description="token list of a text file")
    p.add_argument("--text", required=True)
    p.add_argument("--out", required=True)
    _token_type(p, default_type)
    a = p.parse_args(argv)
    write_token_list(Path(a.text), Path(a.out), a.token_type)
    return 0


def main_shapes(argv: Optional[Sequence[str]] = None, default_type: str = "char") -> int:
    p = argparse.ArgumentParser(prog="downstream_data shapes", description="ESPnet shape files")
    p.add_argument("--data_dir", required=True, help="Kaldi data dir (wav.scp, text)")
    p.add_argument("--token_list", required=True)
    p.add_argument("--out_dir", required=True)
    _token_type(p, default_type)
    a = p.parse_args(argv)
    write_shapes(Path(a.data_dir), Path(a.token_list), Path(a.out_dir), a.token_type)
    return 0


def cli(argv=None) -> int:
    from espnet2_ext.recipe.downstream.phones import main_phones

    return run_subcommand("downstream_data",
                          {"phones": main_phones, "tokens": main_tokens, "shapes": main_shapes}, argv)
