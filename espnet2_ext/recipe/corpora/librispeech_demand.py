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

from espnet2_ext.recipe.common.cli import RecipeError, run_cli, str2bool
from espnet2_ext.recipe.common.kaldi import write_table
from espnet2_ext.recipe.corpora.demand import SEEN, UNSEEN, find_environments
from espnet2_ext.recipe.corpora.librispeech import read_subset
from espnet2_ext.recipe.corpora.validate import BadAudio, Utterance, settle_bad_audio, write_set

UNSEEN_SUFFIX = "-unseen"


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
        read[name], b = read_subset(Path(librispeech_root), subset)
        bad += b
    data_dir = Path(data_dir)
    settle_bad_audio(bad, "LibriSpeech", data_dir, skip_bad_audio)
    sets = {"train": (read["train"], seen_files, ""), "dev": (read["dev"], seen_files, ""),
            "test_seen": (read["test"], seen_files, ""),
            "test_unseen": (read["test"], unseen_files, UNSEEN_SUFFIX)}
    for name, (utts, noises, suffix) in sets.items():
        write_set(data_dir / name, utts, suffix)
        write_table(data_dir / name / "noise_sources.scp", {k: str(v) for k, v in noises.items()})
    return {name: len(utts) for name, (utts, _, _) in sets.items()}


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
