"""DEMAND noise environments: which are seen in training, which only in test.

Layout: ``<demand_root>/<ENV>/ch01.wav`` (one folder per environment, 16
channels ``ch01`` .. ``ch16``; the recipe uses one channel).  The twelve
*seen* environments give the noise of the training, dev and seen-test sets,
the six *unseen* ones only that of the unseen-test set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

from espnet2_ext.recipe.common.cli import RecipeError

SEEN = ("DKITCHEN", "DWASHING", "DLIVING", "TMETRO", "TBUS", "TCAR",
        "OOFFICE", "OHALLWAY", "OMEETING", "PSTATION", "PCAFETER", "PRESTO")
UNSEEN = ("NFIELD", "NRIVER", "NPARK", "STRAFFIC", "SPSQUARE", "SCAFE")


def find_environments(root: Path, names: Sequence[str], channel: str = "ch01") -> Dict[str, Path]:
    """``ENV -> <root>/<ENV>/<channel>.wav`` for every name; a clear error lists the
    missing or unreadable ones."""
    import soundfile as sf

    root = Path(root)
    if not root.is_dir():
        raise RecipeError(f"--demand_root {root} is not a directory")
    out: Dict[str, Path] = {}
    missing, broken = [], []
    for name in names:
        p = root / name / f"{channel}.wav"
        if not p.is_file():
            missing.append(name)
            continue
        try:
            frames = sf.info(str(p)).frames
        except Exception as e:
            broken.append(f"{p} ({str(e).strip() or type(e).__name__})")
            continue
        if frames == 0:
            broken.append(f"{p} (no samples)")
            continue
        out[name] = p.resolve()
    if missing:
        raise RecipeError(f"DEMAND environment(s) missing under {root}: {' '.join(missing)} "
                          f"(expected {root}/<ENV>/{channel}.wav for each)")
    if broken:
        raise RecipeError("unreadable DEMAND recording(s): " + "; ".join(broken))
    return out
