"""Job launcher for recipe stages (Kaldi ``run.pl``/``slurm.pl`` conventions).

``python -m espnet2_ext.bin.launch [options] [JOB=1:N] LOG COMMAND...`` parses
the command line (:mod:`espnet2_ext.launch.cli`), expands the ``JOB`` range
into :class:`~espnet2_ext.launch.base.Task` objects and runs them through a
:class:`~espnet2_ext.launch.base.Backend`: :class:`LocalBackend` (processes on
this machine) or, on request, ``espnet2_ext.launch.slurm.SlurmBackend``.
"""

from espnet2_ext.launch.base import Backend, JobOptions, LaunchError, Task

__all__ = ["Backend", "JobOptions", "LaunchError", "Task"]
