"""egs2/TEMPLATE/enh_ssl1/utils/parse_options.sh."""

import subprocess

from recipe_helpers import REPO

PARSER = REPO / "egs2/TEMPLATE/enh_ssl1/utils/parse_options.sh"
SCRIPT = f"""
foo_bar=1
flag=false
empty=""
help_message="Usage: t.sh [--foo_bar N]"
. {PARSER}
echo "foo_bar=$foo_bar flag=$flag empty=$empty rest=$*"
"""


def run(*args):
    return subprocess.run(["bash", "-c", SCRIPT, "t.sh", *args], capture_output=True, text=True)


def test_sets_declared_options():
    r = run("--foo_bar", "a b", "--flag", "true", "--empty", "x", "pos1", "pos2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "foo_bar=a b flag=true empty=x rest=pos1 pos2"
    r = run("--foo-bar", "2")  # dashes accepted for underscores
    assert r.stdout.strip().startswith("foo_bar=2 ")


def test_unknown_option_rejected():
    r = run("--no_such", "1")
    assert r.returncode == 1
    assert "unknown option '--no_such'" in r.stderr
    assert r.stdout == ""


def test_boolean_checked_and_missing_value():
    r = run("--flag", "yes")
    assert r.returncode == 1 and "expects true or false" in r.stderr
    r = run("--foo_bar")
    assert r.returncode == 1 and "needs a value" in r.stderr
    r = run("--foo_bar=3")
    assert r.returncode == 1 and "--foo_bar 3" in r.stderr


def test_help_and_config(tmp_path):
    r = run("--help")
    assert r.returncode == 0 and r.stdout.strip() == "Usage: t.sh [--foo_bar N]"
    cfg = tmp_path / "c.conf"
    cfg.write_text("foo_bar=7\n")
    r = run("--config", str(cfg), "--flag", "true")
    assert r.stdout.strip().startswith("foo_bar=7 flag=true")
    r = run("--config", str(tmp_path / "none"))
    assert r.returncode == 1 and "does not exist" in r.stderr
