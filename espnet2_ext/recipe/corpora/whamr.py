"""WHAMR! -> Kaldi-style separation data directories (stage 1 of ``whamr/sep1``).

WHAMR! (Maciejewski et al., 2020) as its generation scripts write it::

    WHAMR_ROOT/wav{8k,16k}/{min,max}/{tr,cv,tt}/
        mix_both_reverb/  mix_single_reverb/  mix_clean_reverb/
        mix_both_anechoic/ mix_single_anechoic/ mix_clean_anechoic/
        s1_anechoic/ s2_anechoic/ s1_reverb/ s2_reverb/ noise/
            <utt1>_<snr1>_<utt2>_<snr2>.wav       (WSJ0-2mix names)

(``WHAMR_ROOT`` may also be the folder that holds ``whamr/``.)  For each split
(``tr -> train``, ``cv -> dev``, ``tt -> test`` by default) this writes
``wav.scp`` (the chosen ``--mix``), ``spk{1,2}.scp`` (``--ref reverb``: the
reverberant sources, or ``anechoic``), ``dereverb{1,2}.scp`` (anechoic
sources), ``noise1.scp`` (mixtures with noise), ``utt2spk`` / ``spk2utt``
(mixture -> mixture), ``utt2dur``, ``utt2srcs`` (the two source utterance ids)
and, given ``--transcripts`` (a Kaldi ``text`` keyed by source utterance id,
e.g. WSJ0's), ``text_spk{1,2}`` and ``text``.

The SSL/ASR encoders of the losses take 16 kHz; with ``--fs 8k`` (or any file
at another rate than ``--target_fs``) the audio is resampled (polyphase) into
``--dump_dir`` and the scp files point there; files already at the target rate
are referenced in place (nothing is copied).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.recipe.common.audio import resample, write_wav
from espnet2_ext.recipe.common.cli import RecipeError, progress, run_cli
from espnet2_ext.recipe.common.kaldi import read_table, spk2utt_from_utt2spk, write_table

MIXES = ("mix_both_reverb", "mix_single_reverb", "mix_clean_reverb",
         "mix_both_anechoic", "mix_single_anechoic", "mix_clean_anechoic")
SPLITS = {"tr": "train", "cv": "dev", "tt": "test"}


def find_root(root: Path, fs: str, mode: str) -> Path:
    """The ``wav{fs}/{mode}`` folder under ``root`` (or under ``root/whamr``)."""
    root = Path(root)
    for base in (root, root / "whamr"):
        d = base / f"wav{fs}" / mode
        if d.is_dir():
            return d
    raise RecipeError(f"no wav{fs}/{mode}/ under {root} (nor {root}/whamr): "
                      "is --whamr_root the WHAMR! output folder?")


def source_ids(mix_name: str) -> List[str]:
    """``011a0101_0.06_401c020r_-0.06`` -> ``['011a0101', '401c020r']``."""
    parts = mix_name.split("_")
    if len(parts) != 4:
        raise RecipeError(f"mixture name {mix_name!r} is not <utt1>_<snr1>_<utt2>_<snr2>")
    return [parts[0], parts[2]]


def _resampled(path: Path, target_fs: int, dump: Optional[Path], rel: str) -> str:
    import soundfile as sf

    info = sf.info(str(path))
    if info.samplerate == target_fs:
        return str(path.resolve())
    if dump is None:
        raise RecipeError(f"{path} is at {info.samplerate} Hz, not {target_fs}: give --dump_dir")
    out = dump / rel
    if not out.is_file():
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
        write_wav(out, resample(x[:, 0], sr, target_fs), target_fs)
    return str(out.resolve())


def prepare_split(split_dir: Path, out_dir: Path, mix: str, ref: str, target_fs: int,
                  dump: Optional[Path], transcripts: Optional[Dict[str, str]]) -> int:
    import soundfile as sf

    mix_dir = split_dir / mix
    if not mix_dir.is_dir():
        raise RecipeError(f"{mix_dir} does not exist (--mix {mix})")
    names = sorted(p.stem for p in mix_dir.glob("*.wav"))
    if not names:
        raise RecipeError(f"{mix_dir} holds no .wav files")
    folders = {"wav": mix, "spk1": f"s1_{ref}", "spk2": f"s2_{ref}",
               "dereverb1": "s1_anechoic", "dereverb2": "s2_anechoic"}
    if mix.startswith(("mix_both", "mix_single")):
        folders["noise1"] = "noise"
    for f in folders.values():
        if not (split_dir / f).is_dir():
            raise RecipeError(f"{split_dir / f} does not exist: incomplete WHAMR! split")
    tables: Dict[str, Dict[str, str]] = {k: {} for k in folders}
    utt2dur, utt2srcs = {}, {}
    text = {"text_spk1": {}, "text_spk2": {}, "text": {}}
    for name in progress(names, f"whamr {split_dir.name}"):
        srcs = source_ids(name)
        for key, folder in folders.items():
            p = split_dir / folder / f"{name}.wav"
            if not p.is_file():
                raise RecipeError(f"{p} is missing (mixture {name})")
            tables[key][name] = _resampled(p, target_fs, dump,
                                           f"{split_dir.name}/{folder}/{name}.wav")
        info = sf.info(tables["wav"][name])
        utt2dur[name] = f"{info.frames / info.samplerate:.3f}"
        utt2srcs[name] = " ".join(srcs)
        if transcripts is not None:
            missing = [s for s in srcs if s not in transcripts]
            if missing:
                raise RecipeError(f"--transcripts lacks source utterance(s) {missing} of {name}")
            text["text_spk1"][name] = transcripts[srcs[0]]
            text["text_spk2"][name] = transcripts[srcs[1]]
            text["text"][name] = f"{transcripts[srcs[0]]} {transcripts[srcs[1]]}".strip()
    out_dir = Path(out_dir)
    for key, t in tables.items():
        write_table(out_dir / ("wav.scp" if key == "wav" else f"{key}.scp"), t)
    utt2spk = {n: n for n in names}
    write_table(out_dir / "utt2spk", utt2spk)
    write_table(out_dir / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    write_table(out_dir / "utt2dur", utt2dur)
    write_table(out_dir / "utt2srcs", utt2srcs)
    if transcripts is not None:
        for k, t in text.items():
            write_table(out_dir / k, t)
    return len(names)


def prepare(whamr_root: Path, data_dir: Path, fs: str = "16k", mode: str = "min",
            mix: str = "mix_both_reverb", ref: str = "reverb", target_fs: int = 16000,
            dump_dir: Optional[Path] = None, transcripts: Optional[Path] = None,
            splits: Sequence[str] = ("tr", "cv", "tt")) -> Dict[str, int]:
    if fs not in ("8k", "16k"):
        raise RecipeError(f"--fs must be 8k or 16k, got {fs!r}")
    if mode not in ("min", "max"):
        raise RecipeError(f"--mode must be min or max, got {mode!r}")
    if mix not in MIXES:
        raise RecipeError(f"--mix must be one of {', '.join(MIXES)}, got {mix!r}")
    if ref not in ("reverb", "anechoic"):
        raise RecipeError(f"--ref must be reverb or anechoic, got {ref!r}")
    base = find_root(whamr_root, fs, mode)
    trans = read_table(Path(transcripts), "transcripts") if transcripts else None
    out = {}
    for s in splits:
        if s not in SPLITS:
            raise RecipeError(f"unknown WHAMR! split {s!r} (expected tr, cv, tt)")
        sd = base / s
        if not sd.is_dir():
            raise RecipeError(f"{sd} does not exist")
        out[SPLITS[s]] = prepare_split(sd, Path(data_dir) / SPLITS[s], mix, ref, target_fs,
                                       Path(dump_dir) if dump_dir else None, trans)
    return out


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prep_whamr", description=__doc__.split("\n\n")[0])
    p.add_argument("--whamr_root", required=True, help="WHAMR! output folder (holds wav8k/, wav16k/)")
    p.add_argument("--data_dir", default="data", help="writes DATA_DIR/{train,dev,test}")
    p.add_argument("--fs", default="16k", choices=("8k", "16k"))
    p.add_argument("--mode", default="min", choices=("min", "max"))
    p.add_argument("--mix", default="mix_both_reverb", choices=MIXES)
    p.add_argument("--ref", default="reverb", choices=("reverb", "anechoic"),
                   help="sources in spk{n}.scp (dereverb{n}.scp are always anechoic)")
    p.add_argument("--target_fs", type=int, default=16000, help="rate of the encoder")
    p.add_argument("--dump_dir", default="", help="resampled audio goes here")
    p.add_argument("--transcripts", default="",
                   help="Kaldi text keyed by source utterance id (e.g. WSJ0's)")
    p.add_argument("--splits", default="tr cv tt")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    n = prepare(Path(a.whamr_root), Path(a.data_dir), a.fs, a.mode, a.mix, a.ref, a.target_fs,
                Path(a.dump_dir) if a.dump_dir else None,
                Path(a.transcripts) if a.transcripts else None, a.splits.split())
    for k, v in n.items():
        print(f"{a.data_dir}/{k}: {v} mixtures")
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
