"""``python -m espnet2_ext.bin.position_probe``: per layer, how much a representation loss rewards position.

Example (one line in a recipe stage)::

    python -m espnet2_ext.bin.position_probe --upstream hubert_base --layers all \\
        --data data/dev --loss ssl_mse --loss ssl_mse_pad --loss ssl_sdtw --out exp/position_probe

writes ``OUT/probe.json`` (every value, per utterance too), ``OUT/probe.md``
(a Markdown fragment: layer x measure tables, mean and 95 % interval) and
``OUT/probe.png`` (the positional-shortcut index per layer, one line per
loss).  Any bad input ends the run with one line ``position_probe: error:
...`` on stderr and exit status 1 (2 for malformed options).  See
``docs/position_probe.md``.
"""

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from espnet2_ext.probe.data import ProbeError

PROG = "position_probe"

# flag -> (criterion option, parser); a flag applies to every chosen loss that takes the option
_LOSS_FLAGS = {
    "pad_range": ("pad_range", "floats"),
    "pad_where": ("pad_where", "str"),
    "speed_factors": ("speed_factors", "floats"),
    "gamma": ("gamma", "float"),
    "sdtw_normalize": ("normalize", "bool"),
    "bandwidth": ("bandwidth", "float"),
    "length_normalize": ("length_normalize", "bool"),
    "l2_normalize": ("l2_normalize", "bool"),
    "backend": ("backend", "str"),
}


def _floats(s: str) -> List[float]:
    try:
        return [float(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {s!r}") from None


def _ints(s: str) -> List[int]:
    try:
        return [int(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from None


def _bool(s: str) -> bool:
    if s.lower() in ("true", "1", "yes"):
        return True
    if s.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {s!r}")


def get_parser() -> argparse.ArgumentParser:
    from espnet2_ext.probe.losses import LOSS_NAMES

    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--upstream", required=True, help="tiny, a torchaudio bundle name, checkpoint:PATH, ...")
    p.add_argument("--upstream_conf", default="{}", help="JSON object of extra upstream options")
    p.add_argument("--layers", default="all", help="all, last, or a list such as 0,3,6 or 0-12 (0 = transformer input)")
    p.add_argument("--data", required=True, help="Kaldi data dir (with wav.scp) or a wav.scp file of clean 16 kHz speech")
    p.add_argument("--loss", action="append", choices=LOSS_NAMES, required=True, help="repeat for several losses")
    p.add_argument("--loss_conf", action="append", default=[], metavar="NAME=JSON",
                   help="constructor options of one loss, e.g. ssl_sdtw='{\"gamma\": 0.1}'")
    g = p.add_argument_group("loss options (applied to every chosen loss that takes them)")
    g.add_argument("--pad_range", type=_floats, help="ssl_mse_pad: LOW,HIGH fraction of the length")
    g.add_argument("--pad_where", choices=("start", "end", "both"), help="ssl_mse_pad")
    g.add_argument("--speed_factors", type=_floats, help="ssl_sdtw: e.g. 0.9,1.0,1.1")
    g.add_argument("--gamma", type=float, help="ssl_sdtw soft-min temperature")
    g.add_argument("--sdtw_normalize", type=_bool, help="ssl_sdtw: soft-DTW divergence (true) or raw soft-DTW")
    g.add_argument("--bandwidth", type=float, help="ssl_sdtw Sakoe-Chiba band")
    g.add_argument("--length_normalize", type=_bool, help="ssl_sdtw: divide by N + M")
    g.add_argument("--l2_normalize", type=_bool, help="all losses (default: each loss's own)")
    g.add_argument("--backend", help="ssl_sdtw soft-DTW backend")
    p.add_argument("--mode", choices=("train", "eval"), default="train",
                   help="train: the training loss (perturbations drawn with --seed); eval: no perturbation")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--max_utts", type=int, default=0, help="use the first N utterances (0: all)")
    p.add_argument("--shifts", type=_ints, default=[1, 2, 5, 10], help="delays of the shift measures, in hops")
    p.add_argument("--mismatch", type=float, default=0.25,
                   help="mismatched-length signal: this fraction of the utterance's frames added on each side")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples of the index interval")
    p.add_argument("--optimize_steps", type=int, default=30, help="Adam steps of the optimisation probe (0: off)")
    p.add_argument("--optimize_utts", type=int, default=2, help="utterances of the optimisation probe")
    p.add_argument("--optimize_lr", type=float, default=1e-4, help="Adam learning rate on the waveform")
    p.add_argument("--optimize_layer", type=int, default=None, help="layer of its loss (default: the last of --layers)")
    p.add_argument("--sphinx_dict", default="", help="with --sphinx_lm: pocketsphinx WER in the optimisation probe "
                   "(needs DATA/text)")
    p.add_argument("--sphinx_lm", default="")
    p.add_argument("--device", default="cpu")
    p.add_argument("--progress", type=_bool, default=True, help="progress bars on stderr")
    return p


def _expand_ranges(spec: str, flag: str) -> List[int]:
    """``"0,3-5,-1"`` -> ``[0, 3, 4, 5, -1]`` (indices are not checked here)."""
    items: List[int] = []
    for tok in spec.split(","):
        tok = tok.strip()
        m = re.fullmatch(r"(\d+)-(\d+)", tok)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if a > b:
                raise ProbeError(f"{flag} {spec!r}: empty range {tok!r}")
            items += range(a, b + 1)
        elif re.fullmatch(r"-?\d+", tok):
            items.append(int(tok))
        else:
            raise ProbeError(f"{flag} {spec!r}: {tok!r} is not a layer index or range (all, last, 0,3,6, 0-12)")
    return items


def parse_layers(spec: str, num_layers: int, flag: str = "--layers") -> List[int]:
    """``all`` | ``last`` | comma list of ints (negative from the end) and ranges ``a-b``: sorted unique indices.

    Ranges are expanded here; the indices are validated by
    :func:`espnet2_ext.ssl.parse_layers`, as every other layer option is.
    """
    from espnet2_ext.ssl import parse_layers as resolve

    spec = spec.strip()
    items = spec if spec in ("all", "last") else _expand_ranges(spec, flag)
    try:
        return sorted(set(resolve(items, num_layers)))
    except ValueError as e:
        raise ProbeError(f"{flag} {spec!r}: {e}") from None


def _json_object(text: str, what: str) -> Dict[str, Any]:
    """A JSON object given on the command line; ``what`` names the option in the error."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProbeError(f"{what}: not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ProbeError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def loss_confs(args) -> Dict[str, Dict[str, Any]]:
    """Constructor options of each chosen loss from the flags and ``--loss_conf``."""
    from espnet2_ext.probe.losses import accepted_options

    names = list(dict.fromkeys(args.loss))
    confs: Dict[str, Dict[str, Any]] = {n: {} for n in names}
    for flag, (opt, _) in _LOSS_FLAGS.items():
        value = getattr(args, flag)
        if value is None:
            continue
        takers = [n for n in names if opt in accepted_options(n)]
        if not takers:
            raise ProbeError(f"--{flag} applies to none of the chosen losses {names}")
        for n in takers:
            confs[n][opt] = value
    for item in args.loss_conf:
        name, sep, text = item.partition("=")
        if not sep or name not in confs:
            raise ProbeError(f"--loss_conf {item!r}: expected NAME=JSON with NAME one of the chosen losses {names}")
        confs[name].update(_json_object(text, f"--loss_conf {name}"))
    return confs


def build_upstream(name: str, conf_json: str, device: str):
    conf = _json_object(conf_json, "--upstream_conf")
    from espnet2_ext.ssl import SSLUpstream

    try:
        return SSLUpstream(name, **conf).to(device), conf
    except (ValueError, TypeError, RuntimeError, OSError) as e:
        raise ProbeError(f"--upstream {name!r}: {e}") from None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        return _run(args)
    except ProbeError as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 1


def _run(args) -> int:
    import torch

    from espnet2_ext.probe.data import load_utterance, read_text, read_wav_scp
    from espnet2_ext.probe.losses import build_loss
    from espnet2_ext.probe.measures import ProbeConfig
    from espnet2_ext.probe.optimize import OptimizeConfig
    from espnet2_ext.probe.report import cell, write_outputs
    from espnet2_ext.probe.run import run_probe

    for what, v, low in (("--max_utts", args.max_utts, 0), ("--bootstrap", args.bootstrap, 0),
                         ("--optimize_steps", args.optimize_steps, 0), ("--optimize_utts", args.optimize_utts, 0)):
        if v < low:
            raise ProbeError(f"{what} must be >= {low}, got {v}")
    if bool(args.sphinx_dict) != bool(args.sphinx_lm):
        raise ProbeError("--sphinx_dict and --sphinx_lm go together")
    try:
        cfg = ProbeConfig(shifts=tuple(args.shifts), mismatch=args.mismatch, seed=args.seed)
        entries = read_wav_scp(args.data)
        confs = loss_confs(args)
        losses = [build_loss(n, c, train=args.mode == "train") for n, c in confs.items()]
    except ValueError as e:  # ProbeError included
        raise ProbeError(str(e)) from None
    if args.max_utts:
        entries = entries[: args.max_utts]

    up, up_conf = build_upstream(args.upstream, args.upstream_conf, args.device)
    layers = parse_layers(args.layers, up.num_layers)
    opt_layer = layers[-1]
    if args.optimize_layer is not None:
        opt_layer = parse_layers(str(args.optimize_layer), up.num_layers, "--optimize_layer")[0]
    utterances = [(utt, load_utterance(utt, path, up.min_samples).to(args.device)) for utt, path in entries]

    recognize = transcripts = None
    if args.sphinx_dict and args.optimize_steps:
        from espnet2_ext.probe.recognizer import sphinx_recognizer

        transcripts = read_text(args.data)
        if transcripts is None:
            raise ProbeError(f"--sphinx_dict/--sphinx_lm need transcriptions: no 'text' next to {args.data}")
        recognize = sphinx_recognizer(args.sphinx_dict, args.sphinx_lm)
    try:
        result = run_probe(
            up, losses, utterances, layers, cfg, n_boot=args.bootstrap,
            optimize=OptimizeConfig(steps=args.optimize_steps, lr=args.optimize_lr, layer=opt_layer, seed=args.seed),
            optimize_utts=args.optimize_utts, recognize=recognize, transcripts=transcripts, progress=args.progress,
        )
    except ValueError as e:
        raise ProbeError(str(e)) from None
    result["settings"] = {
        "upstream": getattr(up, "name", args.upstream), "upstream_conf": up_conf, "layers": layers,
        "data": str(args.data), "mode": args.mode, "seed": args.seed, "shifts": list(cfg.shifts),
        "mismatch": cfg.mismatch, "bootstrap": args.bootstrap, "hop_length": up.hop_length,
        "num_layers": up.num_layers, "max_utts": args.max_utts, "device": str(args.device),
        "torch": torch.__version__,
    }
    out = Path(args.out)
    write_outputs(result, out)
    for name, entry in result["losses"].items():
        idx = ", ".join(f"{l}: {cell(s['index'])}" for l, s in entry["summary"].items())
        print(f"{name} index per layer: {idx}")
    print(f"wrote {out / 'probe.json'}, {out / 'probe.md'}, {out / 'probe.png'}")
    return 0
