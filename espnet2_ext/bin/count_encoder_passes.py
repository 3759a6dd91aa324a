"""``python -m espnet2_ext.bin.count_encoder_passes``: encoder forward passes per training step,
pit vs gpit (stage 8 of separation).

The counting is a benchmark (it patches ESPnet's classes to count calls), so it
lives in ``bench/sep_passes.py`` of the source checkout; this entry point runs
that file (the recipes' ``path.sh`` puts the checkout first on ``PYTHONPATH``).
"""

import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "sep_passes.py"

if __name__ == "__main__":
    if not SCRIPT.is_file():
        print(f"count_encoder_passes: error: {SCRIPT} not found: this tool needs the source "
              "checkout of espnet2_ext (its bench/ folder)", file=sys.stderr)
        sys.exit(1)
    sys.argv[0] = str(SCRIPT)
    runpy.run_path(str(SCRIPT), run_name="__main__")
