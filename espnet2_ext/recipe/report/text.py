"""The words of the report: title, the sentences that explain the columns
present, and the notes on how the run was made."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Sequence

from espnet2_ext.recipe.common import machine
from espnet2_ext.recipe.report.table import Metric, set_label
from espnet2_ext.recipe.report.train_log import train_logs
from espnet2_ext.recipe.steps.layout import Layout

TITLES = {1: "SSL-loss fine-tuning of SE front-ends",
          2: "transcription-free fine-tuning of a separator"}
_COUNT = {2: "two", 3: "three", 4: "four"}

#: per source: (one speaker, mixtures); ``{sphinx_desc}`` names pocketsphinx's dictionary and LM
SENTENCES: Dict[str, Sequence[str]] = {
    "scores": (
        "Signal scores against the clean reference of the noisy simulation (`noisy` = "
        "unprocessed input); `clean` row: the clean test audio.",
        "Signal scores under the permutation of best SI-SDR, against the references the "
        "separator was trained for; SI-SDRi: improvement over the unprocessed mixture."),
    "repr": (
        "MSE repr. / sDTW repr.: distance of the output to the clean reference in the features of "
        "the losses' upstream (`{upstream}`, last layer), computed by the criterions themselves in "
        "eval mode: `ssl_mse` (frame MSE) and `ssl_sdtw` (soft-DTW divergence); lower is closer.",
        "MSE repr. / sDTW repr.: distance of each separated stream to its reference (best SI-SDR "
        "permutation) in the features of the losses' upstream (`{upstream}`, last layer), by the "
        "criterions in eval mode: `ssl_mse` (frame MSE), `ssl_sdtw` (soft-DTW divergence); lower is closer."),
    "sphinx": (
        "WER sphinx: pocketsphinx (en-us acoustic model, {sphinx_desc}), a recognizer no "
        "front-end was trained with.",
        "cpWER / ORC-WER (meeteval): pocketsphinx (en-us acoustic model, {sphinx_desc}), a "
        "recognizer no model was trained with, on each separated stream against every "
        "speaker's transcription; `mixture`: the unprocessed mixture as one stream; `clean`: "
        "the reference signals as the streams."),
    "whisper": (
        "WER Whisper: Whisper `{whisper}` (openai-whisper, English, temperature 0), another network "
        "than the losses' encoder, after normalising both sides (Whisper's English normaliser, one "
        "word per digit, spelled-out letters joined into one word).",
        "cpWER / ORC-WER Whisper: the same with Whisper `{whisper}` (English, temperature 0) as the "
        "recognizer, both sides normalised (Whisper's English normaliser, one word per digit, "
        "spelled-out letters joined)."),
    "superb_asr": (
        "WER downstream: SUPERB-style ESPnet ASR (frozen SSL upstream, learnable layer "
        "weights, small BLSTM-CTC) trained on clean speech.",) * 2,
    "superb_pr": (
        "PER downstream: phone error rate of the same kind of model trained for phoneme "
        "recognition (targets from the CMU pronouncing dictionary).",) * 2,
}


def title(recipe: Path, num_spk: int) -> str:
    return f"{recipe.parent.name}/{recipe.name}: {TITLES[min(num_spk, 2)]}"


def sphinx_description(dic: str = "", lm: str = "") -> str:
    """``cmudict-en-us.dict dictionary and en-us.lm.bin LM`` (empty: pocketsphinx's own files)."""
    return (f"{Path(dic).name if dic else 'cmudict-en-us.dict'} dictionary and "
            f"{Path(lm).name if lm else 'en-us.lm.bin'} LM")


def intro(layout: Layout, metrics: Sequence[Metric], sphinx_desc: str, upstream: str = "",
          whisper: str = "") -> str:
    sets = list(layout.asr_sets)
    mixtures = "" if layout.num_spk == 1 else f" ({_COUNT.get(layout.num_spk, layout.num_spk)}-speaker mixtures)"
    if len(sets) == 1:
        which = f"Evaluation set: `{sets[0]}`{mixtures}."
    else:
        which = ("Evaluation sets: " + ", ".join(f"`{s}` ({set_label(s)})" for s in sets)
                 + f"{mixtures}, one column per set.")
    sources: List[str] = []
    for m in metrics:
        if m.source not in sources:
            sources.append(m.source)
    said = [SENTENCES[s][layout.num_spk > 1].format(sphinx_desc=sphinx_desc, upstream=upstream or "?",
                                                    whisper=whisper or "?") for s in sources]
    return " ".join([which] + said)


def noise_description(layout: Layout, noise_dir: str) -> str:
    """Where the simulation's noise came from: the per-set recording lists of
    stage 1 (sets grouped by list), ``--noise_dir``, or the generated default."""
    groups: Dict[str, List[str]] = {}
    for s in layout.sim_sets:
        scp = layout.clean_dir(s) / "noise_sources.scp"
        if scp.is_file():
            names = " ".join(ln.split(maxsplit=1)[0] for ln in scp.read_text().splitlines() if ln.strip())
            groups.setdefault(names, []).append(s)
    if groups:
        return "per-set recordings (" + "; ".join(f"{', '.join(v)}: {k}" for k, v in groups.items()) + ")"
    if noise_dir:
        return noise_dir
    return "generated coloured noise + babble" if layout.num_spk == 1 else "generated coloured noise"


def notes(layout: Layout, recipe: Path, upstream: str, conf_dir: str, simulate: bool,
          snrs: str, noise_dir: str, reverb: bool, rt60: str, offsets: str, sir_range: str) -> str:
    items = [f"upstream `{upstream}`"]
    if layout.seeds:
        items.append(f"fine-tuning seeds {{{' '.join(map(str, layout.seeds))}}}")
    if layout.num_spk > 1:
        items.append(f"references `{layout.ref_prefix}N.scp`")
    if simulate:
        items += [f"SNRs {{{snrs}}} dB", f"noise: {noise_description(layout, noise_dir)}",
                  f"reverb true (RT60 {rt60} s)" if reverb else "reverb false"]
        if layout.num_spk > 1:
            items += [f"offsets {offsets} s", f"SIR {sir_range} dB"]
    out = (f"Recipe: `{recipe.name}`, " + ", ".join(items) + f"; configs from `{conf_dir}`. "
           f"Per-stage wall times: `{layout.exp}/stage_times.txt`.")
    trained = training_environments(layout)
    return out + ("\n\n" + trained if trained else "")


def training_environments(layout: Layout) -> str:
    """Where the models were trained, from their logs' headers
    (:mod:`espnet2_ext.recipe.common.machine`); empty when no log names one."""
    per_env: Dict[str, List[str]] = {}
    for m in layout.models:
        if layout.trains(m):
            for env in machine.environments_of(train_logs(layout.model_dir(m))):
                per_env.setdefault(env, []).append(m)
    if not per_env:
        return ""
    if len(per_env) == 1:
        return f"Numeric environment of the trainings: {next(iter(per_env))}."
    return (f"The models were trained in {len(per_env)} numeric environments, which alone change the "
            "numbers as much as a seed does: compare across them with care.\n\n"
            + "\n".join(f"- {env}: {', '.join(ms)}" for env, ms in per_env.items()))


def _relative(path: Path, md: Path) -> str:
    return os.path.relpath(Path(path).resolve(), Path(md).resolve().parent)


def probe_section(layout: Layout, out_md: Path) -> str:
    """The positional-shortcut probe of the run (stage 8), if it finished: what was
    probed, its tables (``probe.md``) and its picture."""
    d = layout.probe_dir
    md, js, png = d / "probe.md", d / "probe.json", d / "probe.png"
    if not (d / ".done").is_file() or not md.is_file():
        return ""
    what = ""
    try:
        info = json.loads(js.read_text(encoding="utf-8"))
        st = info["settings"]
        what = (f"Probed: upstream `{st['upstream']}`, hidden states {', '.join(map(str, st['layers']))} "
                f"(0 = the first block's input), the first {len(info['utterances'])} utterances of "
                f"`{st['data']}` (clean speech), losses {', '.join(f'`{k}`' for k in info['losses'])} "
                f"in {st['mode']} mode (seed {st['seed']}), by `python -m espnet2_ext.bin.position_probe` "
                f"(all values: `{_relative(js, out_md)}`).\n\n")
    except (OSError, ValueError, KeyError):
        pass
    body = what + md.read_text(encoding="utf-8").strip()
    if png.is_file():
        body += f"\n\n![positional-shortcut index per layer]({_relative(png, out_md)})"
    return "## Positional-shortcut probe\n\n" + body


def sections(layout: Layout, out_md: Path = Path("RESULTS.md")) -> List[str]:
    """Markdown sections other steps leave for the report (title + body)."""
    out = []
    probe = probe_section(layout, out_md)
    if probe:
        out.append(probe)
    passes = layout.passes_dir / "passes.md"
    if passes.is_file():
        out.append("## Encoder forward passes per training step\n\n" + passes.read_text(encoding="utf-8").strip())
    return out
