"""The package-install branch of tools/local_slurm.sh, with a stub apt-get.

The script runs with a PATH holding only a private folder: the Slurm and
munge programs are absent there (whether or not this machine has them), a few
basic tools are linked in, and ``apt-get`` is a stub that records its
arguments (and the DEBIAN_FRONTEND it saw) and installs nothing.  The real
apt-get is never reachable.  After a successful (stub) install the script
goes on to ``slurmd -C``, which is still missing: it stops there, which is
the end of the branch under test.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCAL_SLURM = REPO / "tools" / "local_slurm.sh"
BASH = shutil.which("bash") or "/bin/bash"
PACKAGES = "slurmctld slurmd slurm-client munge"
PROGRAMS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "sdiag", "scancel")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="local_slurm.sh start needs root")


def make_bin(tmp_path: Path, apt_rc=None, present=()):
    """A PATH folder: basic tools, optional apt-get stub, optional stub programs."""
    b = tmp_path / "bin"
    b.mkdir()
    for tool in ("id", "mkdir", "chmod", "cat", "hostname", "sed", "head", "grep"):
        real = shutil.which(tool)
        if real:
            (b / tool).symlink_to(real)
    record = tmp_path / "apt_calls.txt"
    if apt_rc is not None:
        # apt_rc: {"update": rc, "install": rc}
        (b / "apt-get").write_text(
            f"#!{BASH}\n"
            f'echo "DEBIAN_FRONTEND=${{DEBIAN_FRONTEND:-}} $*" >> {record}\n'
            f'case "$1" in update) exit {apt_rc.get("update", 0)} ;; '
            f'install) exit {apt_rc.get("install", 0)} ;; esac\n'
            "exit 0\n"
        )
        (b / "apt-get").chmod(0o755)
    for prog in present:
        (b / prog).write_text(f"#!{BASH}\nexit 0\n")
        (b / prog).chmod(0o755)
    return b, record


def start(tmp_path: Path, bin_dir: Path, **env):
    e = {"PATH": str(bin_dir), "LOCAL_SLURM_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)}
    e.update(env)
    return subprocess.run([BASH, str(LOCAL_SLURM), "start"], env=e, capture_output=True,
                          text=True, timeout=60)


def calls(record: Path):
    return record.read_text().splitlines() if record.exists() else []


def test_missing_programs_are_installed_with_apt(tmp_path):
    b, record = make_bin(tmp_path, apt_rc={})
    r = start(tmp_path, b)
    assert calls(record) == [
        "DEBIAN_FRONTEND=noninteractive update -q",
        f"DEBIAN_FRONTEND=noninteractive install -y -q --no-install-recommends {PACKAGES}",
    ]
    assert f"local_slurm: installing {PACKAGES} (missing: {' '.join(PROGRAMS)})" in r.stderr
    # the stub installed nothing: the script stops at the next step, clearly
    assert r.returncode == 1
    assert "local_slurm: error: slurmd -C failed" in r.stderr
    assert (tmp_path / "state" / "log" / "apt.log").is_file()


def test_only_the_missing_programs_are_named(tmp_path):
    b, record = make_bin(tmp_path, apt_rc={}, present=[p for p in PROGRAMS if p != "slurmctld"])
    r = start(tmp_path, b)
    assert f"installing {PACKAGES} (missing: slurmctld)" in r.stderr
    assert len(calls(record)) == 2


@pytest.mark.parametrize("step,msg", [("update", "apt-get update failed"),
                                      ("install", "apt-get install failed")])
def test_failing_apt_get_is_a_clear_error(tmp_path, step, msg):
    b, record = make_bin(tmp_path, apt_rc={step: 100})
    r = start(tmp_path, b)
    assert r.returncode == 1
    log = tmp_path / "state" / "log" / "apt.log"
    assert r.stderr.strip().splitlines()[-1] == f"local_slurm: error: {msg}, see {log}"
    assert len(calls(record)) == (1 if step == "update" else 2)
    assert "Traceback" not in r.stderr and "slurmd -C" not in r.stderr


def test_no_apt_get_is_a_clear_error(tmp_path):
    b, record = make_bin(tmp_path, apt_rc=None)
    r = start(tmp_path, b)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        f"local_slurm: error: missing {' '.join(PROGRAMS)} and no apt-get to install {PACKAGES}")


def test_no_install_option_never_calls_apt_get(tmp_path):
    b, record = make_bin(tmp_path, apt_rc={})
    r = start(tmp_path, b, LOCAL_SLURM_NO_INSTALL="1")
    assert r.returncode == 1
    assert calls(record) == []
    assert "and LOCAL_SLURM_NO_INSTALL=1" in r.stderr.strip().splitlines()[-1]


def test_nothing_installed_when_every_program_is_there(tmp_path):
    b, record = make_bin(tmp_path, apt_rc={}, present=PROGRAMS)
    r = start(tmp_path, b)
    assert calls(record) == []
    assert "installing" not in r.stderr
    # the stub slurmd prints nothing for -C: the next step fails, by name
    assert "cannot parse 'slurmd -C'" in r.stderr
