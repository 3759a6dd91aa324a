"""Moving outputs between steps: key lists for the jobs, jobs' outputs split
back per set, split lists for ``JOB=1:N`` arrays.  Every file here is written
atomically, and a key list only when its content changes (its signature stays)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import byte_sorted, read_table, write_text_atomic
from espnet2_ext.recipe.scoring import wer
from espnet2_ext.recipe.steps.layout import Layout
from espnet2_ext.recipe.steps.plan import decode_keys, frontend_step, whisper_keys_file
from espnet2_ext.recipe.steps.progress import require_finished


def _lines(path: Path) -> List[str]:
    if not Path(path).is_file():
        raise RecipeError(f"{path} does not exist (or is not a file)")
    return [ln for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]


def _write_lines(path: Path, lines: Sequence[str], keep_same: bool = False) -> None:
    write_text_atomic(path, "".join(f"{ln}\n" for ln in lines), keep_same=keep_same)


def _unique_keys(lines: Sequence[str], what: str) -> None:
    seen = set()
    for ln in lines:
        key = ln.split(maxsplit=1)[0]
        if key in seen:
            raise RecipeError(f"utterance ids repeat across {what} (e.g. {key})")
        seen.add(key)


def split(pairs: Sequence[Tuple[Path, Path]], nj: int) -> int:
    """Split each ``(scp, prefix)`` into ``prefix.{1..n}.scp`` (contiguous parts, first
    two columns), ``n = min(nj, lines of every scp)``; returns ``n``."""
    lists = [(_lines(scp), prefix) for scp, prefix in pairs]
    n = min([nj] + [len(lines) for lines, _ in lists])
    if n < 1:
        raise RecipeError(f"nothing to split: {', '.join(str(s) for s, _ in pairs)} (empty?)")
    for lines, prefix in lists:
        parts: Dict[int, List[str]] = {k: [] for k in range(1, n + 1)}
        for i, ln in enumerate(lines):
            parts[i * n // len(lines) + 1].append(" ".join(ln.split()[:2]))
        for k, part in parts.items():
            _write_lines(Path(f"{prefix}.{k}.scp"), part)
    return n


def eval_keys(layout: Layout) -> Path:
    """Every mixture of ``--eval_sets`` in one list (one inference job per model)."""
    lines: List[str] = []
    for dset in layout.eval_sets:
        scp = layout.noisy_dir(dset) / "wav.scp"
        if not scp.is_file():
            raise RecipeError(f"{scp} missing: run stage 2")
        lines += _lines(scp)
    lines = byte_sorted(lines)
    _unique_keys(lines, " ".join(layout.eval_sets))
    _write_lines(layout.eval_keys, lines, keep_same=True)
    return layout.eval_keys


def corpus_mixtures(layout: Layout, dset: str) -> None:
    """``--simulate false``: the corpus's own mixtures, the clean data dir as it is."""
    src, out = layout.clean_dir(dset), layout.noisy_dir(dset)
    if not (src / "wav.scp").is_file():
        raise RecipeError(f"{src}/wav.scp missing (stage 1 made no set {dset})")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(src, out)


def enhanced(layout: Layout, model: str) -> None:
    """A model's inference outputs (``log/output.*/spk{n}.scp``, every set at once)
    split back per set; a set missing utterances is an error."""
    logdir = layout.enhanced_dir(model) / "log"
    for n in layout.speakers():
        out = byte_sorted(ln for p in sorted(logdir.glob("output.*")) for ln in _lines(p / f"spk{n}.scp"))
        for dset, scp in ((d, layout.enhanced_scps(model, d)[n - 1]) for d in layout.eval_sets):
            keys = set(read_table(layout.noisy_dir(dset) / "wav.scp", "wav.scp"))
            mine = [ln for ln in out if ln.split(maxsplit=1)[0] in keys]
            if len(mine) != len(keys):
                raise RecipeError(f"enhanced {dset} by {model} is incomplete: see {logdir}")
            _write_lines(scp, mine)


def downstream_keys(layout: Layout, task: str) -> Path:
    """Every front-end's version of every ``--asr_set`` in one list (keys ``FE__UTT``):
    one decoding job per downstream task."""
    lines: List[str] = []
    for dset in layout.asr_sets:
        for fe in ["clean", *layout.frontends]:
            require_finished(frontend_step(layout, fe))
            scp = layout.streams(fe, dset)[0]
            if not scp.is_file():
                raise RecipeError(f"{scp} missing: run the earlier stages")
            lines += [f"{fe}__{ln}" for ln in _lines(scp)]
    lines = byte_sorted(lines)
    _unique_keys(lines, f"--asr_set {' '.join(layout.asr_sets)}")
    _write_lines(decode_keys(layout, task), lines, keep_same=True)
    return decode_keys(layout, task)


def decoded(layout: Layout, task: str) -> List[str]:
    """The decoding job's hypotheses split per set and front-end and scored
    (``decode_SET/FE/{wer,per}.json``); returns one summary line each."""
    t = layout.task(task)
    d = layout.decode_dir(task)
    text_all = byte_sorted(ln for p in sorted((d / "log").glob("output.*"))
                           for ln in _lines(p / "1best_recog" / "text"))
    _write_lines(d / "text_all", text_all)
    summary = []
    for dset in layout.asr_sets:
        keys = set(read_table(layout.clean_dir(dset) / "wav.scp", "wav.scp"))
        for fe in ["clean", *layout.frontends]:
            prefix = f"{fe}__"
            hyps = []
            for ln in text_all:
                words = ln.split()
                if words[0].startswith(prefix) and words[0][len(prefix):] in keys:
                    hyps.append(" ".join([words[0][len(prefix):]] + words[1:]))
            out = layout.decoded_dir(task, dset, fe)
            _write_lines(out / "text", hyps)
            line = wer.summary_line(wer.score_files(t.data / dset / "text", out / "text",
                                                    out / f"{t.metric}.json"))
            if task == "pr":
                line = line.replace("WER", "PER", 1).replace(" words)", " phones)")
            what = fe if list(layout.asr_sets) == [dset] else f"{dset} {fe}"
            summary.append(f"{what}: {line}")
    return summary


def _stream_key(fe: str, n: int, utt: str) -> str:
    return f"{fe}__{n}__{utt}"


def whisper_keys(layout: Layout, dset: str) -> Path:
    """Every stream of every front-end of ``dset`` (``clean`` too) in one list, keys
    ``FE__N__UTT``: one Whisper job array per set (the model loads once per job)."""
    lines: List[str] = []
    for fe in ["clean", *layout.frontends]:
        require_finished(frontend_step(layout, fe))
        for n, scp in enumerate(layout.streams(fe, dset), 1):
            lines += [f"{_stream_key(fe, n, ln.split(maxsplit=1)[0])} {ln.split(maxsplit=1)[1]}"
                      for ln in _lines(scp)]
    lines = byte_sorted(lines)
    _unique_keys(lines, f"the streams of {dset}")
    _write_lines(whisper_keys_file(layout, dset), lines, keep_same=True)
    return whisper_keys_file(layout, dset)


def whispered(layout: Layout, dset: str) -> List[str]:
    """The Whisper jobs' texts split per front-end and stream (``FE/text_stream{n}``)
    and scored with Whisper's normalisation (``FE/wer.json``: WER, or cpWER and
    ORC-WER for several streams or speakers); returns one summary line each."""
    from espnet2_ext.recipe.common.kaldi import write_table
    from espnet2_ext.recipe.scoring import sphinx, whisper

    d = layout.whisper_dir(dset)
    hyps: Dict[str, str] = {}
    for part in sorted((d / "log").glob("output.*")):
        hyps.update(read_table(part / "text", "Whisper's text"))
    refs = layout.transcripts(dset)
    if not refs:
        raise RecipeError(f"{dset} has no transcriptions (text_spk1 ... of its mixtures)")
    keys = list(read_table(refs[0], "transcription"))
    summary = []
    for fe in ["clean", *layout.frontends]:
        out = d / fe
        streams = []
        for n in range(1, len(layout.streams(fe, dset)) + 1):
            texts = {u: hyps[_stream_key(fe, n, u)] for u in keys if _stream_key(fe, n, u) in hyps}
            if len(texts) != len(keys):
                raise RecipeError(f"Whisper's output for {dset} {fe} (stream {n}) is incomplete: see {d / 'log'}")
            write_table(out / f"text_stream{n}", texts)
            streams.append(out / f"text_stream{n}")
        line = sphinx.score(refs, streams, out / "wer.json", whisper.normalize)
        summary.append(f"{fe if list(layout.asr_sets) == [dset] else f'{dset} {fe}'}: {line}")
    return summary
