"""The positional-shortcut probe: per layer, how much a representation loss rewards position.

Functional core (no file I/O): :mod:`.signals` (probe signals from an
utterance), :mod:`.losses` (the criterions through their hooks),
:mod:`.measures` (one utterance's measures), :mod:`.stats` (intervals and the
index), :mod:`.optimize` (the optimisation probe), :mod:`.run` (over a set of
utterances).  File I/O: :mod:`.data` (wav.scp), :mod:`.report` (json, md,
png), :mod:`.recognizer` (optional pocketsphinx); the CLI is :mod:`.cli`
(``python -m espnet2_ext.bin.position_probe``).  See docs/position_probe.md.

This package imports no ESPnet itself; :mod:`.losses` builds the criterions,
whose module does.  Tables, audio files, atomic writes and the pocketsphinx
decoder are the recipes' (:mod:`espnet2_ext.recipe.common`,
:mod:`espnet2_ext.recipe.scoring.sphinx`: no ESPnet, no torch), and layer
indices are validated by :func:`espnet2_ext.ssl.parse_layers`.
"""

from espnet2_ext.probe.data import ProbeError
from espnet2_ext.probe.losses import LOSS_NAMES, ProbeLoss, build_loss
from espnet2_ext.probe.measures import ProbeConfig, measure_names, probe_utterance
from espnet2_ext.probe.optimize import OptimizeConfig, logmel_distance, optimize_utterance
from espnet2_ext.probe.run import run_probe
from espnet2_ext.probe.stats import shortcut_index, t_interval

__all__ = [
    "LOSS_NAMES",
    "OptimizeConfig",
    "ProbeConfig",
    "ProbeError",
    "ProbeLoss",
    "build_loss",
    "logmel_distance",
    "measure_names",
    "optimize_utterance",
    "probe_utterance",
    "run_probe",
    "shortcut_index",
    "t_interval",
]
