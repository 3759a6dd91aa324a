"""LibriSpeech + DEMAND data directories (stage 1 of ``egs2/librispeech_demand/enh1``).

Writes clean Kaldi data dirs and, beside each, the noise it is to be mixed with
in stage 2 (``noise_sources.scp``: ``ENV /path/ENV/ch01.wav`` per line; the
stage script hands it to the simulation, which records the environment of every
utterance in ``utt2noise``):

=============  ====================  ==================
set            speech                noise
=============  ====================  ==================
train          ``--train_subset``    seen environments
dev            ``--dev_subset``      seen environments
test_seen      ``--test_subset``     seen environments
test_unseen    ``--test_subset``     unseen environments
=============  ====================  ==================

``test_unseen`` holds the same utterances as ``test_seen``, with ids suffixed
``-unseen`` so that the two never collide in one scp.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.recipe.an4 import BadAudio, Utterance
from espnet2_ext.recipe.common import (
    SAMPLE_RATE,
    RecipeError,
    run_cli,
    str2bool,
    write_data_dir,
    write_table,
    write_text_atomic,
)
from espnet2_ext.recipe.demand import SEEN, UNSEEN, find_environments
from espnet2_ext.recipe.librispeech import read_subset

UNSEEN_SUFFIX = "-unseen"


def _write(out: Path, utts: List[Utterance], noises: Dict[str, Path], suffix: str = "") -> None:
    if not utts:
        raise RecipeError(f"no usable utterances for {out}")
    ids = {u.utt_id: u.utt_id + suffix for u in utts}
    write_data_dir(
        out,
        wav={ids[u.utt_id]: str(u.path.resolve()) for u in utts},
        text={ids[u.utt_id]: u.words for u in utts},
        utt2spk={ids[u.utt_id]: u.spk for u in utts},
        utt2dur={ids[u.utt_id]: u.num_samples / SAMPLE_RATE for u in utts},
    )
    write_table(out / "noise_sources.scp", {k: str(v) for k, v in noises.items()})


def prepare(
    librispeech_root: Path,
    demand_root: Path,
    data_dir: Path,
    train_subset: str = "train-clean-100",
    dev_subset: str = "dev-clean",
    test_subset: str = "test-clean",
    skip_bad_audio: bool = False,
    seen: Sequence[str] = SEEN,
    unseen: Sequence[str] = UNSEEN,
) -> Dict[str, int]:
    """Validate both corpora and write ``data_dir/{train,dev,test_seen,test_unseen}``."""
    overlap = sorted(set(seen) & set(unseen))
    if overlap:
        raise RecipeError(f"environment(s) both seen and unseen: {' '.join(overlap)}")
    seen_files = find_environments(demand_root, seen)
    unseen_files = find_environments(demand_root, unseen)
    subsets = {"train": train_subset, "dev": dev_subset, "test": test_subset}
    read: Dict[str, List[Utterance]] = {}
    bad: List[BadAudio] = []
    for name, subset in subsets.items():
        utts, b = read_subset(Path(librispeech_root), subset)
        read[name] = utts
        bad += b
    data_dir = Path(data_dir)
    if bad:
        listing = "\n".join(f"  {b}" for b in bad)
        if not skip_bad_audio:
            raise RecipeError(
                f"{len(bad)} LibriSpeech utterance(s) cannot be used:\n{listing}\n"
                "fix or remove them, or rerun with --skip_bad_audio true to leave them out")
        print(f"warning: skipping {len(bad)} bad utterance(s):\n{listing}", flush=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(data_dir / "bad_audio.txt",
                      "".join(f"{b.utt_id} {b.path} {b.reason}\n" for b in bad))
    _write(data_dir / "train", read["train"], seen_files)
    _write(data_dir / "dev", read["dev"], seen_files)
    _write(data_dir / "test_seen", read["test"], seen_files)
    _write(data_dir / "test_unseen", read["test"], unseen_files, UNSEEN_SUFFIX)
    return {"train": len(read["train"]), "dev": len(read["dev"]),
            "test_seen": len(read["test"]), "test_unseen": len(read["test"])}


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="prep_librispeech_demand",
        description="Validate LibriSpeech + DEMAND and write data/{train,dev,test_seen,test_unseen}.")
    p.add_argument("--librispeech_root", required=True,
                   help="folder holding the LibriSpeech subsets (train-clean-100/, ...)")
    p.add_argument("--demand_root", required=True, help="folder holding DEMAND's <ENV>/ch01.wav")
    p.add_argument("--data_dir", default="data")
    p.add_argument("--train_subset", default="train-clean-100")
    p.add_argument("--dev_subset", default="dev-clean")
    p.add_argument("--test_subset", default="test-clean")
    p.add_argument("--seen_noises", default=" ".join(SEEN),
                   help="environments of train/dev/test_seen")
    p.add_argument("--unseen_noises", default=" ".join(UNSEEN),
                   help="environments of test_unseen only")
    p.add_argument("--skip_bad_audio", type=str2bool, default=False,
                   help="leave bad files out (listed in DATA_DIR/bad_audio.txt) instead of failing")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    seen, unseen = a.seen_noises.split(), a.unseen_noises.split()
    if not seen or not unseen:
        raise RecipeError("--seen_noises and --unseen_noises must each name an environment")
    sizes = prepare(Path(a.librispeech_root), Path(a.demand_root), Path(a.data_dir),
                    a.train_subset, a.dev_subset, a.test_subset, a.skip_bad_audio, seen, unseen)
    print("prepared " + ", ".join(f"{k}: {v} utterances" for k, v in sizes.items()))
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
