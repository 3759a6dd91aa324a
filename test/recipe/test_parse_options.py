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


# ------------------------------------------------------------------ utils/corpus_opts.sh
CORPUS_OPTS = REPO / "egs2/TEMPLATE/enh_ssl1/utils/corpus_opts.sh"
RUN_SH = f"""
an4_root=""
local_data_opts="--num_dev_spk 4"
corpus_options="an4_root num_dev_spk"
. {CORPUS_OPTS} "$@"
echo "local=[$local_data_opts] an4_root=[$an4_root]"
printf 'rest=[%s]\\n' "${{enh_ssl_opts[@]}}"
"""


def run_sh(*args):
    return subprocess.run(["bash", "-c", "set -e -u -o pipefail\n" + RUN_SH, "run.sh", *args],
                          capture_output=True, text=True)


def test_corpus_options_go_to_local_data_opts():
    r = run_sh("--an4_root", "/d/an4", "--stage", "3", "--num_dev_spk=3", "--snrs", "0 5")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "local=[--num_dev_spk 4 --an4_root /d/an4 --num_dev_spk 3] an4_root=[/d/an4]"
    assert lines[1:] == ["rest=[--stage]", "rest=[3]", "rest=[--snrs]", "rest=[0 5]"]
    r = run_sh()
    assert r.stdout.splitlines() == ["local=[--num_dev_spk 4] an4_root=[]", "rest=[]"]


def test_corpus_option_errors():
    r = run_sh("--an4_root")
    assert r.returncode == 1 and "option '--an4_root' needs a value" in r.stderr
    r = run_sh("--an4_root", "/a b")
    assert r.returncode == 1 and "a value with blanks is not supported" in r.stderr
