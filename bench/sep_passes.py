"""Encoder forward passes per training step: ESPnet's ``pit`` vs our ``gpit`` (a benchmark).

A benchmark, not package code: it counts calls by wrapping the criterion's
``forward`` and patching the guide's class lookup (``unittest.mock``).
Stage 8 of the separation recipes runs it through
``python -m espnet2_ext.bin.count_encoder_passes`` (which runs this file of
the source checkout); by hand: ``python bench/sep_passes.py --data_dir
data/dev_noisy --out exp/passes/passes.json``.

Wraps one SSL criterion (``ssl_mse`` by default) in each solver, runs it on
one batch of two-speaker (or N-speaker) signals and counts

* criterion calls (each call encodes the reference, without gradient, and the
  estimate, with gradient: 2 encoder passes);
* encoder forward passes (a forward hook on the frozen encoder);
* the wall time of the loss + backward.

For N speakers, ``pit`` calls the criterion N!·N times (2 speakers: 4 calls,
8 passes), ``gpit`` N times (2 calls, 4 passes) plus N·N SI-SNR guide calls
that need no encoder.  The batch is read from a data dir's ``spk{n}.scp``
(references) with, as estimates, the references in swapped order mixed with
the other speaker (what an imperfect separator gives); the count does not
depend on the signal values.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.recipe.common.audio import read_audio
from espnet2_ext.recipe.common.cli import RecipeError, run_cli
from espnet2_ext.recipe.common.kaldi import read_table, wav_path, write_text_atomic


def load_batch(data_dir: Path, num_spk: int = 2, batch_size: int = 2, max_len: int = 16000,
               ref_prefix: str = "spk"):
    """References (list over speakers of (B, T) tensors) of the first mixtures of a data dir."""
    import torch

    tables = [read_table(Path(data_dir) / f"{ref_prefix}{n}.scp", f"{ref_prefix}{n}.scp")
              for n in range(1, num_spk + 1)]
    keys = sorted(tables[0])[:batch_size]
    if not keys:
        raise RecipeError(f"{data_dir} has no mixtures")
    sigs = [[read_audio(wav_path(t[k], str(data_dir)))[0] for k in keys] for t in tables]
    T = min(max_len, min(len(x) for s in sigs for x in s))
    return [torch.stack([torch.from_numpy(x[:T].copy()) for x in s]) for s in sigs]


def count_passes(ref: List, criterion: str = "ssl_mse", upstream: str = "tiny",
                 guide: str = "si_snr") -> Dict[str, Dict[str, float]]:
    import sys
    from unittest import mock

    import torch
    from espnet2.enh.loss.criterions.time_domain import SISNRLoss
    from espnet2.enh.loss.wrappers.pit_solver import PITSolver

    from espnet2_ext.enh.loss.criterions import ssl as ssl_losses
    from espnet2_ext.enh.loss.wrappers import gpit as gpit_mod
    from espnet2_ext.enh.loss.wrappers.gpit import GuidedPITSolver

    if "espnet2.tasks.enh" in sys.modules or guide != "si_snr":
        guide_patch = mock.patch.object(gpit_mod, "_criterion_class", gpit_mod._criterion_class)
    else:  # ESPnet's criterion registry (espnet2.tasks.enh) takes long to import: same class
        guide_patch = mock.patch.object(gpit_mod, "_criterion_class", lambda name: SISNRLoss)

    classes = {"ssl_mse": ssl_losses.SSLMSELoss, "ssl_mse_pad": ssl_losses.SSLMSEPadLoss,
               "ssl_sdtw": ssl_losses.SSLSoftDTWLoss}
    if criterion not in classes:
        raise RecipeError(f"criterion must be one of {sorted(classes)}, got {criterion!r}")
    N = len(ref)
    # estimates: speakers swapped, each with some of the other speaker left in
    inf0 = [0.8 * ref[(s + 1) % N] + 0.2 * ref[s] for s in range(N)]
    out: Dict[str, Dict[str, float]] = {}
    for name in ("pit", "gpit"):
        crit = classes[criterion](upstream=upstream)
        calls = {"criterion": 0, "encoder": 0}
        up = crit.upstream(ref[0].device)
        with torch.no_grad():  # warm-up (builds the encoder), not counted nor timed
            crit(ref[0], ref[0])
        handle = up.register_forward_hook(lambda *a: calls.__setitem__("encoder", calls["encoder"] + 1))
        orig = crit.forward

        def counted(*a, _orig=orig, **k):
            calls["criterion"] += 1
            return _orig(*a, **k)

        crit.forward = counted
        with guide_patch:
            solver = PITSolver(crit) if name == "pit" else GuidedPITSolver(crit, guide=guide)
        inf = [x.clone().requires_grad_(True) for x in inf0]
        t0 = time.perf_counter()
        loss, _, others = solver(ref, inf, {})
        loss.backward()
        dt = time.perf_counter() - t0
        handle.remove()
        out[name] = {"criterion_calls": calls["criterion"], "encoder_passes": calls["encoder"],
                     "seconds": dt, "perm": others["perm"].tolist()}
    out["expected"] = {"pit_criterion_calls": math.factorial(N) * N, "gpit_criterion_calls": N,
                       "num_spk": N, "batch_size": int(ref[0].shape[0]),
                       "samples": int(ref[0].shape[1])}
    return out


def markdown(r: Dict[str, Dict[str, float]], criterion: str, upstream: str) -> str:
    e = r["expected"]
    lines = [f"Encoder forward passes per training step, main criterion `{criterion}` "
             f"(upstream `{upstream}`), {e['num_spk']} speakers, one batch of "
             f"{e['batch_size']} x {e['samples']} samples:", "",
             "| wrapper | criterion calls | encoder forward passes | loss+backward [s] |",
             "|---|---|---|---|"]
    for w in ("pit", "gpit"):
        lines.append(f"| {w} | {r[w]['criterion_calls']} | {r[w]['encoder_passes']} | "
                     f"{r[w]['seconds']:.2f} |")
    return "\n".join(lines) + "\n"


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="count_encoder_passes", description=__doc__.split("\n\n")[0])
    p.add_argument("--data_dir", required=True, help="data dir with spk1.scp, spk2.scp, ...")
    p.add_argument("--num_spk", type=int, default=2)
    p.add_argument("--batch_size", type=int, default=2)
    p.add_argument("--criterion", default="ssl_mse")
    p.add_argument("--upstream", default="tiny")
    p.add_argument("--out", default="", help="write JSON here (and a .md beside it)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    ref = load_batch(Path(a.data_dir), a.num_spk, a.batch_size)
    r = count_passes(ref, a.criterion, a.upstream)
    md = markdown(r, a.criterion, a.upstream)
    if a.out:
        write_text_atomic(Path(a.out), json.dumps(r, indent=1) + "\n")
        write_text_atomic(Path(a.out).with_suffix(".md"), md)
    print(md)
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)


if __name__ == "__main__":
    import sys

    sys.exit(cli())
