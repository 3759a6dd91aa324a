"""Run tasks on a Slurm cluster: one ``sbatch`` job array per launch.

The backend submits all tasks of a launch as one job array (a single task
without a ``JOB`` range as a plain job), waits for them, and returns one exit
status per task.  It needs no Slurm accounting: every task is wrapped by a
small bash script that writes the task's log (headed by the command, ended by
the exit status, as the local backend does) and then a *status file* holding
the exit code.  Completion is read from those files (the log directory must be
visible from the compute nodes, as with Kaldi's ``slurm.pl``); the controller
is asked (``scontrol show job``) only to notice tasks that ended without
writing one (cancelled, timed out, node failure) and whether it is still
reachable.  Every Slurm client call runs under a timeout, and a controller
unreachable for longer than ``controller_timeout`` seconds makes the launch
fail with :class:`LaunchError` rather than wait forever.

Resource options (``--gpu``, ``--mem``, ``--num_threads``, ``--time`` and any
other ``--name value``) become ``sbatch`` options through a small config file
(``conf/slurm.conf``); see :class:`SlurmConfig` and ``docs/slurm.md``.

Only the standard library and :mod:`espnet2_ext.launch.base` are imported, so
the launcher starts quickly.

The package: :mod:`.config` (the launcher's ``slurm.conf``: resource options
to ``sbatch`` options), :mod:`.client` (Slurm's client commands under
timeouts, what ``scontrol`` says of a job), :mod:`.scripts` (the batch and
task wrapper scripts), :mod:`.backend` (:class:`SlurmBackend`: submit, wait,
collect the exit statuses).
"""

from espnet2_ext.launch.slurm.backend import SlurmBackend
from espnet2_ext.launch.slurm.config import BUILTIN_CONFIG, DEFAULT_SETTINGS, SlurmConfig

__all__ = ["BUILTIN_CONFIG", "DEFAULT_SETTINGS", "SlurmBackend", "SlurmConfig"]
