#!/usr/bin/env python
"""Benchmark: one SE training step through each SSL criterion.

(Over 400 lines on purpose: one script, so that every table of a run --
steps, loss breakdown, ssl_sdtw A/B, per-clip upstream cost -- shares one
set-up and the same machine load, as the house rule on benchmarks asks.)

One *step* is the real ESPnet training path of a small enhancement model
(STFT encoder/decoder, n_fft 256, hop 128, 1-layer BLSTM mask estimator
with 32 units -- the repo's tiny fine-tuning config -- built by
``espnet2_ext.tasks.enh.EnhancementTask.build_model``)::

    optimizer.zero_grad(); loss, stats, weight = model(**batch)
    loss.backward(); optimizer.step()

with the model (and hence, through espnet2_ext's ``forward_loss`` hook, the
loss wrappers and criterions) in train mode, so ``ssl_mse_pad`` pads and
``ssl_sdtw`` speed-perturbs the reference.  All utterances of the batch are
``--seconds`` long.  The models of one (upstream, device) are stepped
round-robin, so load changes on a shared machine hit every row alike.

Printed markdown table, one row per (upstream, device, criterion, wrapper):
median step time over ``--repeat`` steps after ``--warmup`` steps, ratio to
``ssl_mse`` (under the same wrapper family: single-speaker rows to
``ssl_mse``/fixed_order, two-speaker rows to ``ssl_mse``/pit), and the number
of SSL-encoder forward passes per step (a forward pre-hook on the shared
``SSLUpstream`` of the criterion).  A final line says whether ``ssl_sdtw``
costs at most ``--target`` x ``ssl_mse`` on each upstream/device.

``--breakdown`` adds a second table that times the parts of one loss call
(no SE model) for ``ssl_mse`` and ``ssl_sdtw``: reference perturbation,
reference SSL pass (no grad), estimate SSL pass forward+backward, and the
comparison (MSE or soft-DTW) forward+backward.

``--sdtw-ab`` adds an interleaved A/B table for ``ssl_sdtw``'s divergence:
A = one ``soft_dtw(..., normalize=True)`` call (the three terms through the
autograd Function), B = the criterion's ``compare`` (the reference's
self-term forward only, under ``no_grad``); forward+backward, A B B A A B ...

``--clip PATH`` adds, per upstream, the forward+backward time of that one
clip (batch 1, gradient to the waveform) and, for the Whisper upstreams, the
same for the clip zero-padded to 30 s (runs interleaved) and the
cosine similarity per hidden state between the features computed on the
clip alone (positional table sliced to its length, what the upstream does)
and on the clip zero-padded to 30 s (Whisper's native input), over the
clip's frames: mean and minimum over frames.

Upstreams: ``tiny`` (the package's small random model),
``hubert_base_random`` (torchaudio's HuBERT-Base architecture, random
weights, written to a temporary state-dict file and loaded through
``checkpoint:PATH`` + ``arch=hubert_base``; no download), and the Whisper
encoders ``whisper_tiny_en`` / ``whisper_base`` (real weights from their pip
packages).

Examples::

    python bench/ssl_step.py                         # defaults: both upstreams, cpu (+cuda)
    python bench/ssl_step.py --upstreams tiny --batch 8 --seconds 4
    python bench/ssl_step.py --devices cuda --batch 8 --seconds 4 --repeat 10
    python bench/ssl_step.py --upstreams hubert_base_random --breakdown
    python bench/ssl_step.py --upstreams whisper_tiny_en --sdtw-ab --no-separation
    python bench/ssl_step.py --upstreams whisper_tiny_en,whisper_base --steps none \
        --clip ../shared/data/an4/wav/an4test_clstk/mmxg/cen8-mmxg-b.sph
"""

import argparse
import copy
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SR = 16000

# criterion rows: (label, criterion name, wrapper, num_spk)
SINGLE = [
    ("ssl_mse", "ssl_mse", "fixed_order", 1),
    ("ssl_mse_pad", "ssl_mse_pad", "fixed_order", 1),
    ("ssl_sdtw", "ssl_sdtw", "fixed_order", 1),
]
SEPARATION = [
    ("ssl_mse", "ssl_mse", "pit", 2),
    ("ssl_mse", "ssl_mse", "gpit", 2),
    ("ssl_sdtw", "ssl_sdtw", "gpit", 2),
]


# ----------------------------------------------------------------------------
# setup


def upstream_source(name: str, tmpdir: str):
    """(upstream, upstream_conf) criterion arguments for a benchmark upstream name."""
    from espnet2_ext.ssl import WHISPER

    if name == "tiny" or name in WHISPER:
        return name, None
    if name == "hubert_base_random":
        path = os.path.join(tmpdir, "hubert_base_random.pt")
        if not os.path.exists(path):
            import torchaudio

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = torchaudio.models.hubert_base()
            torch.save(model.state_dict(), path)
            del model
        return "checkpoint:" + path, {"arch": "hubert_base"}
    raise ValueError(f"unknown upstream {name!r}; expected tiny, hubert_base_random or one of {sorted(WHISPER)}")


def build_se_model(criterion: str, crit_conf: dict, wrapper: str, num_spk: int):
    """Small STFT + BLSTM mask estimator (the repo's tiny fine-tuning config)."""
    from espnet2_ext.tasks.enh import EnhancementTask

    args = EnhancementTask.get_parser().parse_args([])
    args.encoder = "stft"
    args.encoder_conf = {"n_fft": 256, "hop_length": 128}
    args.decoder = "stft"
    args.decoder_conf = {"n_fft": 256, "hop_length": 128}
    args.separator = "rnn"
    args.separator_conf = {
        "rnn_type": "blstm",
        "num_spk": num_spk,
        "nonlinear": "sigmoid",
        "layer": 1,
        "unit": 32,
        "dropout": 0.0,
    }
    wconf = {"weight": 1.0}
    if wrapper == "gpit":
        wconf.update(guide="si_snr", guide_conf={"eps": 1e-7})
    args.criterions = [
        {"name": criterion, "conf": copy.deepcopy(crit_conf), "wrapper": wrapper, "wrapper_conf": wconf}
    ]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = EnhancementTask.build_model(args)
    return model


def make_batch(B: int, T: int, num_spk: int, device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    refs = [0.1 * torch.randn(B, T, generator=g) for _ in range(num_spk)]
    mix = sum(refs) + 0.02 * torch.randn(B, T, generator=g)
    batch = {
        "speech_mix": mix.to(device),
        "speech_mix_lengths": torch.full((B,), T, dtype=torch.long, device=device),
    }
    for i, r in enumerate(refs):
        batch[f"speech_ref{i + 1}"] = r.to(device)
    return batch


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


class CallCounter:
    """Counts forward calls of the given modules (forward pre-hooks)."""

    def __init__(self, modules):
        self.n = 0
        self.handles = [m.register_forward_pre_hook(self._hook) for m in modules]

    def _hook(self, module, args):
        self.n += 1

    def remove(self):
        for h in self.handles:
            h.remove()


# ----------------------------------------------------------------------------
# measurements


def measure_steps(models, batches, device, warmup: int, repeat: int):
    """[(median ms, SSL forward passes per step)] of full training steps.

    The models are stepped round-robin (one step of each per round), so a
    change of the machine's load during the run affects all of them alike.
    """
    dev = torch.device(device)
    opts, ups = [], []
    for model in models:
        model.to(device).train()
        opts.append(torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4))
        # build the shared frozen encoder before timing
        up = model.loss_wrappers[0].criterion.upstream(dev)
        if all(up is not u for u in ups):
            ups.append(up)
    counter = CallCounter(ups)

    def step(i):
        opts[i].zero_grad(set_to_none=True)
        loss, stats, weight = models[i](**batches[i])
        loss.backward()
        opts[i].step()

    times = [[] for _ in models]
    calls = [[] for _ in models]
    try:
        torch.manual_seed(1234)
        for _ in range(warmup):
            for i in range(len(models)):
                step(i)
        for _ in range(repeat):
            for i in range(len(models)):
                sync(device)
                counter.n = 0
                t0 = time.perf_counter()
                step(i)
                sync(device)
                times[i].append(time.perf_counter() - t0)
                calls[i].append(counter.n)
    finally:
        counter.remove()
    return [(1e3 * statistics.median(t), sum(c) / len(c)) for t, c in zip(times, calls)]


def _timed(fn, device, repeat):
    ts = []
    out = None
    for _ in range(repeat):
        sync(device)
        t0 = time.perf_counter()
        out = fn()
        sync(device)
        ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts), out


def measure_breakdown(crit, B, T, device, warmup, repeat):
    """Median ms of the parts of one training-mode loss call (forward+backward)."""
    crit.train()
    dev = torch.device(device)
    up = crit.upstream(dev)
    g = torch.Generator().manual_seed(0)
    ref = (0.1 * torch.randn(B, T, generator=g)).to(dev)
    inf0 = (0.1 * torch.randn(B, T, generator=g)).to(dev)
    lengths = torch.full((B,), T, dtype=torch.long, device=dev)
    torch.manual_seed(1234)

    def perturb():
        with torch.no_grad():
            return crit.perturb_reference(ref, lengths, up)

    def ref_pass(pr):
        with torch.no_grad():
            return up(pr[0], pr[1])

    def inf_pass():
        x = inf0.clone().requires_grad_(True)
        f, fl = up(x, lengths)
        f.sum().backward()
        return f.detach(), fl

    def compare(rf, rfl, ifeat, ifl, info):
        x = ifeat.clone().requires_grad_(True)
        crit.compare(rf, rfl, x, ifl, info).sum().backward()

    def whole():
        x = inf0.clone().requires_grad_(True)
        crit(ref, x, lengths).sum().backward()

    for _ in range(warmup):
        whole()
    row = {}
    row["perturb"], pr = _timed(perturb, device, repeat)
    row["ref_ssl"], (rf, rfl) = _timed(lambda: ref_pass(pr), device, repeat)
    row["inf_ssl_fb"], (ifeat, ifl) = _timed(inf_pass, device, repeat)
    row["compare_fb"], _ = _timed(lambda: compare(rf, rfl, ifeat, ifl, pr[2]), device, repeat)
    row["whole_fb"], _ = _timed(whole, device, repeat)
    row["frames"] = f"{int(ifl.max())} / {int(rfl.max())}"
    return row


def measure_sdtw_ab(crit, B, T, device, warmup, repeat):
    """Interleaved A/B of the divergence: A = soft_dtw(normalize=True), B = crit.compare (fwd+bwd, ms)."""
    from espnet2_ext.ops.soft_dtw import soft_dtw

    crit.train()
    dev = torch.device(device)
    up = crit.upstream(dev)
    g = torch.Generator().manual_seed(0)
    ref = (0.1 * torch.randn(B, T, generator=g)).to(dev)
    inf0 = (0.1 * torch.randn(B, T, generator=g)).to(dev)
    lengths = torch.full((B,), T, dtype=torch.long, device=dev)
    torch.manual_seed(1234)
    with torch.no_grad():
        pr = crit.perturb_reference(ref, lengths, up)
        rf, rfl = crit.features(up, pr[0], pr[1])
        xf, xfl = crit.features(up, inf0, lengths)
    opts = dict(gamma=crit.gamma, bandwidth=crit.bandwidth, backend=crit.backend)

    def a():
        x = xf.clone().requires_grad_(True)
        soft_dtw(x, rf, xfl, rfl, normalize=True, **opts).sum().backward()
        return x.grad

    def b():
        x = xf.clone().requires_grad_(True)
        crit.compare(rf, rfl, x, xfl, pr[2]).sum().backward()
        return x.grad

    assert torch.allclose(a(), b(), rtol=1e-5, atol=1e-7)  # same divergence, same gradient
    for _ in range(warmup):
        a(), b()
    ta, tb = [], []
    for i in range(repeat):  # A B, B A, A B, ...: neither always runs first
        for fn, ts in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            ts.append(time.perf_counter() - t0)
    return {"A": 1e3 * statistics.median(ta), "B": 1e3 * statistics.median(tb),
            "frames": f"{int(xfl.max())} / {int(rfl.max())}"}


def measure_clip(name, upstream_conf, wav, repeat):
    """Forward+backward ms of one clip (1, T); for Whisper also of the clip padded to 30 s (timed
    interleaved with the sliced runs) and the cosine per layer of sliced vs 30-s padded features."""
    from espnet2_ext.ssl import SSLUpstream

    up = SSLUpstream(name, layers="last", **(upstream_conf or {}))
    whisper = up.backend_name == "whisper"
    padded_wav = torch.nn.functional.pad(wav, (0, 30 * SR - wav.shape[1])) if whisper else None

    def fwd_bwd(w):
        x = w.clone().requires_grad_(True)
        t0 = time.perf_counter()
        up(x)[0].pow(2).sum().backward()
        return time.perf_counter() - t0

    fwd_bwd(wav)  # warm-up
    ts, ts30 = [], []
    for _ in range(repeat):
        ts.append(fwd_bwd(wav))
        if whisper:
            ts30.append(fwd_bwd(padded_wav))
    row = {"ms": 1e3 * statistics.median(ts), "frames": int(up.frame_lengths(torch.tensor([wav.shape[1]]))[0])}
    if whisper:
        row["ms30"] = 1e3 * statistics.median(ts30)
        with torch.no_grad():
            alone, fl = up.extract_layers(wav)
            padded, _ = up.extract_layers(padded_wav)
        f = int(fl[0])
        cos = [torch.nn.functional.cosine_similarity(a[0, :f], p[0, :f], dim=-1) for a, p in zip(alone, padded)]
        row["cos"] = " / ".join(f"{float(c.mean()):.3f}" for c in cos)
        row["cos_min"] = " / ".join(f"{float(c.min()):.3f}" for c in cos)
    return row


# ----------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstreams", default="tiny,hubert_base_random")
    p.add_argument("--devices", default="auto", help="comma list of cpu/cuda; auto = cpu (+cuda if available)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--target", type=float, default=1.15)
    p.add_argument("--no-separation", action="store_true", help="skip the 2-speaker pit/gpit rows")
    p.add_argument("--breakdown", action="store_true", help="also time the parts of one loss call")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    p.add_argument("--sdtw-ab", action="store_true", help="interleaved A/B of ssl_sdtw's divergence")
    p.add_argument("--clip", default=None, help="audio file: per-upstream fwd+bwd time (and Whisper cosines)")
    p.add_argument("--steps", default="all", choices=["all", "none"], help="'none' skips the step table")
    args = p.parse_args(argv)

    warnings.filterwarnings("ignore")
    import logging

    logging.disable(logging.WARNING)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    import espnet2_ext  # noqa: F401  (registration)

    if args.devices == "auto":
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    else:
        devices = [d.strip() for d in args.devices.split(",") if d.strip()]
        if "cuda" in devices and not torch.cuda.is_available():
            print("# cuda requested but not available: skipped", file=sys.stderr)
            devices = [d for d in devices if d != "cuda"]
    upstreams = [u.strip() for u in args.upstreams.split(",") if u.strip()]
    B, T = args.batch, int(round(args.seconds * SR))
    rows_spec = (SINGLE + ([] if args.no_separation else SEPARATION)) if args.steps == "all" else []
    clip = None
    if args.clip:
        import soundfile as sf

        data, sr = sf.read(args.clip, dtype="float32")
        if sr != SR:
            raise SystemExit(f"--clip {args.clip}: {sr} Hz, expected {SR}")
        clip = torch.from_numpy(data)[None]

    cpu = platform.processor() or platform.machine()
    print(
        f"# torch {torch.__version__}, {os.cpu_count()} CPUs ({cpu}), torch threads {torch.get_num_threads()}"
        + (f", GPU {torch.cuda.get_device_name(0)}" if "cuda" in devices else "")
    )
    print(f"# B={B}, {args.seconds:g} s/utt, warmup {args.warmup}, median of {args.repeat}")
    try:
        print(f"# load average at start: {os.getloadavg()[0]:.2f}")
    except OSError:
        pass

    tmpdir = tempfile.mkdtemp(prefix="ssl_step_")
    results = []
    breakdowns = []
    abs_ = []
    clips = []
    for up_name in upstreams:
        upstream, upstream_conf = upstream_source(up_name, tmpdir)
        if clip is not None:
            clips.append({"upstream": up_name, **measure_clip(upstream, upstream_conf, clip, args.repeat)})
        for device in devices:
            if args.sdtw_ab:
                from espnet2_ext.enh.loss.criterions.ssl import SSLSoftDTWLoss

                crit = SSLSoftDTWLoss(upstream=upstream, upstream_conf=upstream_conf)
                abs_.append({"upstream": up_name, "device": device,
                             **measure_sdtw_ab(crit, B, T, device, args.warmup, args.repeat)})
            if not rows_spec:
                continue
            models, batches = [], []
            for label, crit_name, wrapper, nspk in rows_spec:
                conf = {"upstream": upstream, "layers": "last"}
                if upstream_conf:
                    conf["upstream_conf"] = upstream_conf
                models.append(build_se_model(crit_name, conf, wrapper, nspk))
                batches.append(make_batch(B, T, nspk, device))
            measured = measure_steps(models, batches, device, args.warmup, args.repeat)
            del models, batches
            if device == "cuda":
                torch.cuda.empty_cache()
            base = {}
            for (label, crit_name, wrapper, nspk), (ms, calls) in zip(rows_spec, measured):
                if crit_name == "ssl_mse" and nspk not in base:
                    base[nspk] = ms
                r = {
                    "upstream": up_name,
                    "device": device,
                    "criterion": label,
                    "wrapper": wrapper,
                    "spk": nspk,
                    "ms": ms,
                    "ratio": ms / base[nspk] if nspk in base else float("nan"),
                    "calls": calls,
                }
                results.append(r)
                print(
                    f"#   {up_name:>18} {device:>4} {label:>11} {wrapper:>11} spk={nspk}: "
                    f"{ms:9.1f} ms, {calls:g} SSL passes",
                    file=sys.stderr,
                    flush=True,
                )
            if args.breakdown:
                from espnet2_ext.enh.loss.criterions.ssl import SSLMSELoss, SSLSoftDTWLoss

                for cls in (SSLMSELoss, SSLSoftDTWLoss):
                    crit = cls(upstream=upstream, upstream_conf=upstream_conf)
                    row = measure_breakdown(crit, B, T, device, args.warmup, args.repeat)
                    breakdowns.append({"upstream": up_name, "device": device, "criterion": crit.name, **row})

    if clips:
        print()
        print(f"Clip {args.clip} ({clip.shape[1] / SR:.2f} s), batch 1, median of {args.repeat} after 1 warm-up "
              "(Whisper: sliced and 30-s padded runs interleaved):")
        print()
        print("| upstream | frames | fwd+bwd ms | same clip padded to 30 s: fwd+bwd ms "
              "| cos sliced vs 30-s padded, mean per layer 0..L | min over frames |")
        print("|---|---:|---:|---:|---|---|")
        for r in clips:
            ms30 = f"{r['ms30']:.1f}" if "ms30" in r else "-"
            print(f"| {r['upstream']} | {r['frames']} | {r['ms']:.1f} | {ms30} | {r.get('cos', '-')} "
                  f"| {r.get('cos_min', '-')} |")
    if abs_:
        print()
        print("ssl_sdtw divergence, compare fwd+bwd, interleaved A/B (A: soft_dtw(normalize=True); "
              "B: reference self-term forward only):")
        print()
        print("| upstream | device | B x s | frames inf / ref | A ms | B ms | B / A |")
        print("|---|---|---|---|---:|---:|---:|")
        for r in abs_:
            print(f"| {r['upstream']} | {r['device']} | {B} x {args.seconds:g} | {r['frames']} | {r['A']:.1f} | "
                  f"{r['B']:.1f} | {r['B'] / r['A']:.2f} |")
    if not results:
        return
    print()
    print("| upstream | device | criterion | wrapper | spk | B x s | step ms | ratio to ssl_mse | SSL fwd / step |")
    print("|---|---|---|---|---:|---|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['upstream']} | {r['device']} | {r['criterion']} | {r['wrapper']} | {r['spk']} | "
            f"{B} x {args.seconds:g} | {r['ms']:.1f} | {r['ratio']:.2f} | {r['calls']:g} |"
        )
    if breakdowns:
        print()
        print(
            "| upstream | device | criterion | perturb ref ms | ref SSL (no grad) ms | inf SSL fwd+bwd ms "
            "| compare fwd+bwd ms | whole loss fwd+bwd ms | frames inf / ref |"
        )
        print("|---|---|---|---:|---:|---:|---:|---:|---|")
        for r in breakdowns:
            print(
                f"| {r['upstream']} | {r['device']} | {r['criterion']} | {r['perturb']:.1f} | {r['ref_ssl']:.1f} | "
                f"{r['inf_ssl_fb']:.1f} | {r['compare_fb']:.1f} | {r['whole_fb']:.1f} | {r['frames']} |"
            )
    print()
    verdicts = []
    for up_name in upstreams:
        for device in devices:
            sel = {
                r["criterion"]: r
                for r in results
                if r["upstream"] == up_name and r["device"] == device and r["spk"] == 1
            }
            if "ssl_sdtw" in sel and "ssl_mse" in sel:
                ratio = sel["ssl_sdtw"]["ms"] / sel["ssl_mse"]["ms"]
                ok = ratio <= args.target
                verdicts.append(
                    f"{up_name}/{device}: ssl_sdtw = {ratio:.2f}x ssl_mse -> "
                    f"{'MEETS' if ok else 'MISSES'} the {args.target:g}x target"
                )
    print("Target (ssl_sdtw step <= %gx ssl_mse step): " % args.target + "; ".join(verdicts))
    try:
        print(f"# load average at end: {os.getloadavg()[0]:.2f}")
    except OSError:
        pass
    try:
        os.remove(os.path.join(tmpdir, "hubert_base_random.pt"))
    except OSError:
        pass
    try:
        os.rmdir(tmpdir)
    except OSError:
        pass


if __name__ == "__main__":
    main()
