"""The scripts a Slurm launch submits: ``job.sh`` (the array's batch script) runs
``task.K.sh``, which writes the task's log (headed by the command, ended by its
exit status, as the local backend does) and then a status file with the exit code."""

import shlex
from pathlib import Path

from espnet2_ext.launch.base import Task


def task_script(task: Task, k: int, work: Path, threads: int) -> str:
    log = shlex.quote(str(Path(task.log).absolute()))
    status = shlex.quote(str(work / f"status.{k}"))
    header = shlex.quote(f"# {task.command}")
    command = shlex.quote(task.command)
    return f"""\
# task {k}: written by espnet2_ext.launch.slurm; run by job.sh
log={log}
status={status}
mkdir -p "$(dirname "$log")" || {{ echo 1 >"$status"; exit 1; }}
{{
    printf '%s\\n' {header}
    printf '# Started at %s\\n' "$(LC_ALL=C date '+%a %b %d %H:%M:%S %Y')"
    printf '# Slurm job %s on %s\\n#\\n' \\
        "${{SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}}${{SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}}" "$(hostname)"
}} >"$log"
export OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads}
start=$(date +%s)
# the command runs in the background so that a SIGTERM from Slurm (scancel,
# time limit) is passed on and the log still gets its exit status
bash -c {command} >>"$log" 2>&1 </dev/null &
child=$!
trap 'kill -TERM $child 2>/dev/null' TERM INT
wait $child
rc=$?
while kill -0 $child 2>/dev/null; do
    wait $child
    rc=$?
done
elapsed=$(($(date +%s) - start))
{{
    echo "# Accounting: time=$elapsed threads={threads}"
    echo "# Ended (code $rc) at $(LC_ALL=C date '+%a %b %d %H:%M:%S %Y'), elapsed time $elapsed seconds"
}} >>"$log"
echo $rc >"$status.tmp" && mv -f "$status.tmp" "$status"
exit $rc
"""

def job_script(work: Path) -> str:
    w = shlex.quote(str(work))
    return f"""\
#!/bin/bash
# Slurm batch script written by espnet2_ext.launch.slurm: runs task
# number $SLURM_ARRAY_TASK_ID of {w}.
exec bash {w}/task.${{SLURM_ARRAY_TASK_ID:-1}}.sh
"""
