"""Small config helpers for the stage script.

* ``set_upstream``: copy an ESPnet YAML config, setting the SSL upstream of
  every ``ssl_*`` enhancement criterion (``criterions[i].conf.upstream``) and
  of an ``ssl_*`` ASR frontend (``frontend_conf.upstream``) to ``--upstream``,
  and optionally overriding top-level keys (``--set max_epoch=3``).
* ``asr_shapes``: the shape files ESPnet's ``--collect_stats`` writes for a
  raw-audio, char-token ASR task (``speech_shape``: samples per utterance;
  ``text_shape``: tokens per utterance; ``text_shape.char``: with the
  vocabulary size appended), without starting ESPnet.
* ``char_tokens``: ESPnet's char token list of a Kaldi ``text`` file
  (``<blank>``, ``<unk>``, characters by decreasing count with ``<space>``
  for blanks, ``<sos/eos>``), as ``espnet2.bin.tokenize_text`` writes it.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.recipe.common import RecipeError, read_table, run_cli, write_text_atomic


def _load_yaml(path: Path) -> dict:
    import yaml

    if not Path(path).is_file():
        raise RecipeError(f"config file {path} does not exist")
    try:
        d = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RecipeError(f"config file {path} is not valid YAML: {e}") from None
    if not isinstance(d, dict):
        raise RecipeError(f"config file {path} must hold a mapping")
    return d


def set_upstream(cfg: dict, upstream: str) -> int:
    """Set the upstream in place; returns how many places were set."""
    n = 0
    for c in cfg.get("criterions") or []:
        if str(c.get("name", "")).startswith("ssl_"):
            c.setdefault("conf", {})
            c["conf"] = c["conf"] or {}
            c["conf"]["upstream"] = upstream
            n += 1
    if str(cfg.get("frontend", "")).startswith("ssl_"):
        cfg["frontend_conf"] = cfg.get("frontend_conf") or {}
        cfg["frontend_conf"]["upstream"] = upstream
        n += 1
    return n


def _parse_value(v: str):
    import yaml

    return yaml.safe_load(v)


def char_tokens(texts: Sequence[str]) -> List[str]:
    counts: Counter = Counter()
    for t in texts:
        counts.update(text_tokens(t))
    chars = sorted(counts, key=lambda c: (-counts[c], c))
    return ["<blank>", "<unk>"] + chars + ["<sos/eos>"]


def text_tokens(text: str) -> List[str]:
    return ["<space>" if ch == " " else ch for ch in " ".join(text.split())]


def main_asr_shapes(argv: Optional[Sequence[str]] = None) -> int:
    import soundfile as sf

    p = argparse.ArgumentParser(prog="asr_shapes", description="ESPnet ASR shape files")
    p.add_argument("--data_dir", required=True, help="Kaldi data dir (wav.scp, text)")
    p.add_argument("--token_list", required=True)
    p.add_argument("--out_dir", required=True)
    a = p.parse_args(argv)
    d = Path(a.data_dir)
    wav = read_table(d / "wav.scp", "wav.scp")
    text = read_table(d / "text", "text")
    if set(wav) != set(text):
        raise RecipeError(f"{d}: wav.scp and text list different utterances")
    tokens = Path(a.token_list).read_text(encoding="utf-8").split()
    speech, txt, txt_v = [], [], []
    for utt in sorted(wav, key=lambda k: k.encode("utf-8")):
        try:
            n = sf.info(wav[utt].strip()).frames
        except Exception as e:
            raise RecipeError(f"cannot read {wav[utt]} ({utt}): {e}") from None
        t = len(text_tokens(text[utt]))
        speech.append(f"{utt} {n}\n")
        txt.append(f"{utt} {t}\n")
        txt_v.append(f"{utt} {t},{len(tokens)}\n")
    out = Path(a.out_dir)
    write_text_atomic(out / "speech_shape", "".join(speech))
    write_text_atomic(out / "text_shape", "".join(txt))
    write_text_atomic(out / "text_shape.char", "".join(txt_v))
    return 0


def main_set_upstream(argv: Optional[Sequence[str]] = None) -> int:
    import yaml

    p = argparse.ArgumentParser(prog="set_upstream", description="SSL upstream into a config")
    p.add_argument("--in", dest="src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--require", default="true", choices=("true", "false"),
                   help="fail if the config has no SSL criterion/frontend")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a top-level key (YAML value)")
    a = p.parse_args(argv)
    cfg = _load_yaml(Path(a.src))
    if set_upstream(cfg, a.upstream) == 0 and a.require == "true":
        raise RecipeError(f"{a.src} has no ssl_* criterion or frontend to set the upstream of")
    for kv in a.set:
        if "=" not in kv:
            raise RecipeError(f"--set expects KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        cfg[k] = _parse_value(v)
    write_text_atomic(Path(a.out), yaml.safe_dump(cfg, sort_keys=False), keep_same=True)
    return 0


def main_char_tokens(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="char_tokens", description="char token list of a text file")
    p.add_argument("--text", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    table: Dict[str, str] = read_table(Path(a.text), "text")
    write_text_atomic(Path(a.out), "\n".join(char_tokens(list(table.values()))) + "\n",
                      keep_same=True)
    return 0


def cli(argv=None) -> int:
    import sys

    argv = sys.argv[1:] if argv is None else list(argv)
    cmds = {"set_upstream": main_set_upstream, "char_tokens": main_char_tokens,
            "asr_shapes": main_asr_shapes}
    if not argv or argv[0] not in cmds:
        print(f"usage: recipe_config {{{','.join(cmds)}}} ...", file=sys.stderr)
        return 2
    return run_cli(cmds[argv[0]], argv[1:])
