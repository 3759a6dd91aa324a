"""Two-speaker, reverberant, noisy mixtures of a clean data directory (WHAMR!-style).

Each utterance of ``--src_dir`` is the first speaker of one mixture (``--copies``
mixtures, with distinct partners); the second speaker is a random utterance of
a *different* speaker of the same set.  Per
mixture (random stream seeded by ``seed`` and the mixture id, so results do not
depend on order):

* both speakers are placed in one random shoe-box room (pyroomacoustics image
  method, one microphone, RT60 drawn from ``rt60``); each source's RIR is
  aligned to its direct path, so the dry reference is time-aligned with the
  reverberant one (``--reverb false``: no room, reverberant == dry);
* the second speaker starts ``offset`` seconds after the first (drawn from
  ``offsets``, at most the first utterance's length), and is scaled to a
  relative level (SIR, dB) drawn uniformly from ``sir_range``; the mixture
  spans both utterances (WHAMR!'s ``max`` mode: nothing is cut, so both
  transcriptions stay complete);
* noise (``--noise_dir`` recordings, train / eval parts kept apart, or
  generated coloured noise) is added at an SNR drawn from ``snrs``, relative to
  the reverberant speech mixture;
* if the mixture would clip, every signal is scaled by the same gain.

Output data dir (ESPnet's names for enh/separation data):

=================  ===========================================================
``wav.scp``        the mixture
``spk{1,2}.scp``   reverberant speech of each speaker (WHAMR!'s ``s{n}_reverb``)
``dereverb{1,2}.scp``  dry speech of each speaker (``s{n}_anechoic``)
``noise1.scp``     the scaled noise
``text_spk{1,2}``  each speaker's transcription
``text``           both transcriptions, first speaker first
``utt2spk``        mixture -> mixture (a separation set has no single speaker)
``utt2offset``, ``utt2sir``, ``utt2snr``, ``utt2rt60``, ``utt2dur``, ``utt2spks``
=================  ===========================================================
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_ext.recipe.common import (
    SAMPLE_RATE,
    RecipeError,
    parse_tuple_list,
    progress,
    read_audio,
    read_table,
    run_cli,
    wav_path,
    write_data_dir,
    write_wav,
)
from espnet2_ext.recipe.simulate import (
    coloured_noise,
    list_noise_files,
    load_noise,
    noise_segment,
    scale_noise,
    simulation_parser,
    utt_rng,
)

NUM_SPK = 2


def pair_utterances(utt2spk: Dict[str, str], seed: int, copies: int = 1) -> List[Tuple[str, str]]:
    """Every utterance as first speaker, with ``copies`` distinct random utterances of
    other speakers (fewer if the set has fewer)."""
    utts = sorted(utt2spk)
    if len(set(utt2spk.values())) < 2:
        raise RecipeError("two-speaker mixtures need at least two speakers in the set")
    if copies < 1:
        raise RecipeError(f"--copies must be >= 1, got {copies}")
    pairs = []
    for u in utts:
        rng = utt_rng(seed, "pair:" + u)
        others = [v for v in utts if utt2spk[v] != utt2spk[u]]
        if copies == 1:
            pairs.append((u, others[int(rng.integers(len(others)))]))
        else:
            pick = rng.choice(len(others), size=min(copies, len(others)), replace=False)
            pairs += [(u, others[int(i)]) for i in sorted(pick)]
    return pairs


def room_rirs(rng: np.random.Generator, num_src: int = NUM_SPK,
              rt60_range: Sequence[float] = (0.2, 0.5)) -> Tuple[List[np.ndarray], float]:
    """RIRs of ``num_src`` random sources to one microphone in one random shoe-box room.

    Each RIR is cut at its direct-path peak and scaled to a unit peak, so that
    convolving the dry signal keeps it time-aligned and at the direct-path level.
    """
    import pyroomacoustics as pra

    dims = np.array([rng.uniform(4, 8), rng.uniform(4, 8), rng.uniform(2.5, 3.5)])
    rt60 = float(rng.uniform(*rt60_range))
    try:
        absorption, max_order = pra.inverse_sabine(rt60, dims)
    except ValueError:  # room too large for that RT60
        absorption, max_order = 0.5, 10
    room = pra.ShoeBox(dims, fs=SAMPLE_RATE, materials=pra.Material(absorption),
                       max_order=min(int(max_order), 12))
    margin = 0.5
    room.add_microphone([rng.uniform(margin, d - margin) for d in dims])
    for _ in range(num_src):
        room.add_source([rng.uniform(margin, d - margin) for d in dims])
    room.compute_rir()
    out = []
    for s in range(num_src):
        rir = np.asarray(room.rir[0][s], dtype=np.float64)
        peak = int(np.argmax(np.abs(rir)))
        out.append((rir[peak:] / np.max(np.abs(rir))).astype(np.float32))
    return out, rt60


def level_db(x: np.ndarray) -> float:
    return 10.0 * np.log10(float(np.sum(x.astype(np.float64) ** 2)) + 1e-20)


def mix_two(dry: Sequence[np.ndarray], rev: Sequence[np.ndarray], offset: int, sir: float):
    """Place the second speaker ``offset`` samples late, ``sir`` dB below the first.

    ``sir`` is the level of speaker 1 over speaker 2 (reverberant signals).
    Returns ``(dry_padded, rev_padded)``: lists of two equally long signals.
    """
    n = max(len(rev[0]), offset + len(rev[1]))
    g2 = 10.0 ** ((level_db(rev[0]) - level_db(rev[1]) - sir) / 20.0)
    d_out, r_out = [], []
    for k, (d, r) in enumerate(zip(dry, rev)):
        start = 0 if k == 0 else offset
        g = 1.0 if k == 0 else g2
        dp = np.zeros(n, dtype=np.float32)
        rp = np.zeros(n, dtype=np.float32)
        dp[start:start + len(d)] = d * g
        rp[start:start + len(r)] = r * g
        d_out.append(dp)
        r_out.append(rp)
    return d_out, r_out


def simulate_mixtures(
    src_dir: Path,
    out_dir: Path,
    wav_dir: Path,
    part: str,
    snrs: Sequence[float],
    noise_dir: Optional[Path] = None,
    reverb: bool = True,
    seed: int = 0,
    offsets: Sequence[float] = (0.0, 1.0),
    sir_range: Sequence[float] = (0.0, 5.0),
    rt60_range: Sequence[float] = (0.2, 0.5),
    train_fraction: float = 0.8,
    peak: float = 0.9,
    copies: int = 1,
) -> int:
    """Simulate the mixtures of ``src_dir`` into ``out_dir``; returns #mixtures."""
    from scipy.signal import fftconvolve

    if part not in ("train", "eval"):
        raise RecipeError(f"part must be 'train' or 'eval', got {part!r}")
    if not snrs:
        raise RecipeError("no SNRs given (--snrs)")
    if len(offsets) != 2 or not 0 <= offsets[0] <= offsets[1]:
        raise RecipeError(f"--offsets must be 'MIN MAX' seconds, 0 <= MIN <= MAX, got {offsets}")
    if len(sir_range) != 2 or sir_range[0] > sir_range[1]:
        raise RecipeError(f"--sir_range must be 'MIN MAX' dB, got {sir_range}")
    if len(rt60_range) != 2 or not 0 < rt60_range[0] <= rt60_range[1]:
        raise RecipeError(f"--rt60 must be 'MIN MAX' seconds, 0 < MIN <= MAX, got {rt60_range}")
    src_dir, out_dir, wav_dir = Path(src_dir), Path(out_dir), Path(wav_dir)
    wav = read_table(src_dir / "wav.scp", "clean wav.scp")
    text = read_table(src_dir / "text", "clean text")
    utt2spk = read_table(src_dir / "utt2spk", "clean utt2spk")
    noise_files = [str(p) for p in list_noise_files(noise_dir)] if noise_dir else []
    names = ["wav", "spk1", "spk2", "dereverb1", "dereverb2", "noise1", "text", "text_spk1",
             "text_spk2", "spk", "dur", "offset", "sir", "snr", "rt60", "spks"]
    out: Dict[str, Dict] = {k: {} for k in names}
    pairs = pair_utterances(utt2spk, seed, copies)
    for u1, u2 in progress(pairs, f"simulate {out_dir.name}"):
        key = f"{u1}_{u2}"
        rng = utt_rng(seed, key)
        dry = []
        for u in (u1, u2):
            x, sr = read_audio(wav_path(wav[u], str(src_dir / "wav.scp")))
            if sr != SAMPLE_RATE:
                raise RecipeError(f"{wav[u]}: sample rate {sr}, expected {SAMPLE_RATE}")
            dry.append(x)
        if reverb:
            rirs, rt60 = room_rirs(rng, NUM_SPK, rt60_range)
            rev = [fftconvolve(x, h)[: len(x)].astype(np.float32) for x, h in zip(dry, rirs)]
        else:
            rev, rt60 = list(dry), 0.0
        max_off = min(offsets[1], len(dry[0]) / SAMPLE_RATE)
        off_s = float(rng.uniform(min(offsets[0], max_off), max_off))
        offset = int(round(off_s * SAMPLE_RATE))
        sir = float(rng.uniform(*sir_range))
        dry_p, rev_p = mix_two(dry, rev, offset, sir)
        speech = rev_p[0] + rev_p[1]
        n = len(speech)
        snr = float(snrs[int(rng.integers(len(snrs)))])
        if noise_files:
            f = noise_files[int(rng.integers(len(noise_files)))]
            noise = noise_segment(load_noise(f), n, part, train_fraction, rng)
        else:
            noise = coloured_noise(n, rng)
        noise = scale_noise(speech, noise, snr)
        m = speech + noise
        top = float(np.max(np.abs(m)))
        g = peak / top if top > peak else 1.0
        sigs = {"mix": m * g, "spk1": rev_p[0] * g, "spk2": rev_p[1] * g,
                "dereverb1": dry_p[0] * g, "dereverb2": dry_p[1] * g, "noise1": noise * g}
        for name, x in sigs.items():
            p = wav_dir / name / f"{key}.wav"
            write_wav(p, x)
            out["wav" if name == "mix" else name][key] = str(p.resolve())
        out["text_spk1"][key] = text[u1]
        out["text_spk2"][key] = text[u2]
        out["text"][key] = f"{text[u1]} {text[u2]}".strip()
        out["spk"][key] = key
        out["dur"][key] = n / SAMPLE_RATE
        out["offset"][key] = f"{offset / SAMPLE_RATE:.3f}"
        out["sir"][key] = f"{sir:.2f}"
        out["snr"][key] = f"{snr:g}"
        out["rt60"][key] = f"{rt60:.3f}"
        out["spks"][key] = f"{utt2spk[u1]} {utt2spk[u2]}"
    extra = {f"{n}.scp": out[n] for n in ("spk1", "spk2", "dereverb1", "dereverb2", "noise1")}
    extra.update({"text_spk1": out["text_spk1"], "text_spk2": out["text_spk2"],
                  "utt2offset": out["offset"], "utt2sir": out["sir"], "utt2snr": out["snr"],
                  "utt2rt60": out["rt60"], "utt2spks": out["spks"]})
    write_data_dir(out_dir, out["wav"], out["text"], out["spk"], out["dur"], extra=extra)
    return len(pairs)


def get_parser() -> argparse.ArgumentParser:
    p = simulation_parser("simulate_mixtures", __doc__.split("\n\n")[0], "data/test_mix",
                          "10 15 20", reverb=True)
    p.add_argument("--offsets", default="0 1.0", help="MIN MAX start of speaker 2 (s)")
    p.add_argument("--sir_range", default="0 5", help="MIN MAX level of speaker 1 over 2 (dB)")
    p.add_argument("--rt60", default="0.2 0.5", help="MIN MAX reverberation time (s)")
    p.add_argument("--copies", type=int, default=1,
                   help="mixtures per utterance (distinct second speakers' utterances)")
    return p


def main(argv=None) -> int:
    a = get_parser().parse_args(argv)
    try:
        snrs = list(parse_tuple_list(a.snrs))
        offsets, sirs, rt60 = (parse_tuple_list(v) for v in (a.offsets, a.sir_range, a.rt60))
    except ValueError:
        raise RecipeError("--snrs/--offsets/--sir_range/--rt60 must be numbers") from None
    n = simulate_mixtures(Path(a.src_dir), Path(a.out_dir), Path(a.wav_dir), a.part, snrs,
                          Path(a.noise_dir) if a.noise_dir else None, a.reverb, a.seed,
                          offsets, sirs, rt60, a.train_fraction, copies=a.copies)
    print(f"simulated {n} two-speaker mixtures into {a.out_dir}")
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
