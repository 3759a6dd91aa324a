"""A real single-node Slurm cluster for the launcher tests (tools/local_slurm.sh).

The ``slurm_cluster`` fixture starts a private cluster once per session (state
in a fresh directory under /tmp, controller and slurmd on free ports, so it
never meets another cluster on this machine), points ``SLURM_CONF`` at it and
stops it at the end.  The tests are skipped when the cluster cannot be had
here (not root, or Slurm missing with no apt-get to install it); with
``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCAL_SLURM = REPO / "tools" / "local_slurm.sh"
SLURM_BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"CI=true but the local Slurm cluster cannot run: {reason}")
    pytest.skip(reason)


def _free_ports(n: int) -> List[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def _pid_alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@dataclass
class SlurmCluster:
    """Handle on the running test cluster."""

    dir: Path
    env: Dict[str, str]  # LOCAL_SLURM_* for tools/local_slurm.sh

    @property
    def conf(self) -> Path:
        return self.dir / "slurm.conf"

    def tool(self, action: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(LOCAL_SLURM), action],
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            timeout=timeout,
        )

    def start(self) -> None:
        r = self.tool("start", timeout=600)
        assert r.returncode == 0, f"tools/local_slurm.sh start failed:\n{r.stdout}"

    def stop_controller(self) -> None:
        """Stop slurmctld only (slurmd and the running jobs stay).

        SIGTERM, so that it saves its state: after a SIGKILL, Slurm 22.05 may
        reuse job ids on restart and drain the node ("Duplicate jobid").
        """
        pid = int((self.dir / "run" / "slurmctld.pid").read_text().split()[0])
        os.kill(pid, 15)
        for _ in range(200):
            if not _pid_alive(self.dir / "run" / "slurmctld.pid"):
                return
            time.sleep(0.05)

    def daemons_alive(self) -> List[str]:
        files = {
            "munged": self.dir / "munge" / "munged.pid",
            "slurmctld": self.dir / "run" / "slurmctld.pid",
            "slurmd": self.dir / "run" / "slurmd.pid",
        }
        return [name for name, f in files.items() if _pid_alive(f)]

    def leftover_processes(self) -> List[int]:
        """Processes still carrying this cluster's SLURM_CONF (job steps)."""
        mine = f"SLURM_CONF={self.conf}".encode()
        found = []
        for p in Path("/proc").iterdir():
            if not p.name.isdigit() or int(p.name) == os.getpid():
                continue
            try:
                comm = (p / "comm").read_text().strip()
                environ = (p / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if comm in ("slurmstepd", "slurmd", "slurmctld", "munged") and mine in environ:
                found.append(int(p.name))
        return found


@pytest.fixture(scope="session")
def slurm_cluster():
    if os.geteuid() != 0:
        _unavailable("the local Slurm cluster needs root (its daemons run as root)")
    missing = [b for b in SLURM_BINARIES if shutil.which(b) is None]
    if missing and shutil.which("apt-get") is None:
        _unavailable(f"Slurm is not installed ({', '.join(missing)} missing) and apt-get is unavailable")
    d = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))  # short: holds the munge socket
    ctld, slurmd = _free_ports(2)
    env = {
        "LOCAL_SLURM_DIR": str(d),
        "LOCAL_SLURM_CTLD_PORT": str(ctld),
        "LOCAL_SLURM_SLURMD_PORT": str(slurmd),
    }
    cluster = SlurmCluster(dir=d, env=env)
    old_conf = os.environ.get("SLURM_CONF")
    try:
        cluster.start()
        os.environ["SLURM_CONF"] = str(cluster.conf)
        yield cluster
    finally:
        cluster.tool("stop")
        if old_conf is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old_conf
        shutil.rmtree(d, ignore_errors=True)
