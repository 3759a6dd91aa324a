"""The state of a recipe run (espnet2_ext.recipe.steps): the layout for N speakers,
markers and their signatures, the steps' needs, what a rerun clears, and the
recipe_steps command line the stage script asks."""

import json
import subprocess
import sys
import time

import pytest

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.steps import collect, markers, progress
from espnet2_ext.recipe.steps.layout import Layout
from espnet2_ext.recipe.steps.plan import frontend_step, step

from helpers.env import subprocess_env


def _layout(tmp_path, **kw):
    kw.setdefault("models", ["base", "ssl_mse"])
    return Layout(exp=tmp_path / "exp", data=tmp_path / "data", dump=tmp_path / "dump", **kw)


def _scp(path, keys):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k} /audio/{k}.wav\n" for k in keys))
    return path


def test_layout_one_and_two_speakers(tmp_path):
    one = _layout(tmp_path)
    assert one.frontends == ["noisy", "base", "ssl_mse"]
    assert one.streams("clean", "test") == [tmp_path / "data/test/wav.scp"]
    assert one.streams("noisy", "test") == [tmp_path / "data/test_noisy/wav.scp"]
    assert one.streams("base", "test") == [tmp_path / "exp/enhanced/base/test/spk1.scp"]
    assert one.ref_scps("dev") == [tmp_path / "data/dev_noisy/spk1.scp"]
    assert one.sim_sets == ["train", "dev", "test"]
    two = _layout(tmp_path, num_spk=2, ref_prefix="dereverb", eval_sets=["test"], asr_sets=["test"])
    assert two.frontends[0] == "mixture"
    assert two.streams("base", "test") == [tmp_path / f"exp/enhanced/base/test/spk{n}.scp" for n in (1, 2)]
    assert two.ref_scps("test") == [tmp_path / f"data/test_noisy/dereverb{n}.scp" for n in (1, 2)]
    assert two.streams("clean", "test") == two.ref_scps("test")
    opts = two.train_data_opts()
    assert opts[1::2] == [f"{tmp_path}/data/train_noisy/wav.scp,speech_mix,sound",
                          f"{tmp_path}/data/train_noisy/dereverb1.scp,speech_ref1,sound",
                          f"{tmp_path}/data/train_noisy/dereverb2.scp,speech_ref2,sound",
                          f"{tmp_path}/data/dev_noisy/wav.scp,speech_mix,sound",
                          f"{tmp_path}/data/dev_noisy/dereverb1.scp,speech_ref1,sound",
                          f"{tmp_path}/data/dev_noisy/dereverb2.scp,speech_ref2,sound"]
    # transcripts: text_spk{n} of the mixtures; none: no WER
    assert two.transcripts("test") == []
    for n in (1, 2):
        _scp(tmp_path / f"data/test_noisy/text_spk{n}", ["m1"])
    assert two.transcripts("test") == [tmp_path / f"data/test_noisy/text_spk{n}" for n in (1, 2)]
    given = _layout(tmp_path, init_param=str(tmp_path / "b/model.pth"))
    assert given.model_files("base") == (tmp_path / "b/config.yaml", tmp_path / "b/model.pth")
    assert not given.trains("base") and given.trains("ssl_mse")
    several = _layout(tmp_path, asr_sets=["test_seen", "test_unseen"], tasks=["asr", "pr"])
    assert several.decode_dir("pr") == tmp_path / "exp/pr_superb/decode_sets"
    assert several.results("test_seen", "base")["superb_pr"][0] == \
        tmp_path / "exp/pr_superb/decode_test_seen/base/per.json"


def test_signature_hashes_files(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("a: 1\n")
    sig = markers.signature(["x=1", f])
    assert sig.splitlines()[0] == "x=1" and sig.splitlines()[1].startswith(f"{f} ")
    f.write_text("a: 2\n")
    assert markers.signature(["x=1", f]) != sig


def test_todo_finish_and_rerun(tmp_path):
    lo = _layout(tmp_path)
    s = step(lo, "scores", ["test"])
    # its needs first: stage 4 of every model
    with pytest.raises(RecipeError, match=r"stage 2 has not finished \(.*\.stage2\.done missing\)"):
        progress.todo(s)
    for m in lo.models:
        _scp(lo.enhanced_dir(m) / "test" / "spk1.scp", ["u1"])
    lo.sim_marker.parent.mkdir(parents=True)
    lo.sim_marker.write_text("sig\n")
    with pytest.raises(RecipeError, match=r"stage 4 \(enhancement with base\) has not finished"):
        progress.todo(s)
    for m in lo.models:
        (lo.enhanced_dir(m) / ".done").write_text("sig\n")
    with pytest.raises(RecipeError, match=r"data/test_noisy/wav.scp missing: run stage 4"):
        progress.todo(s)
    _scp(lo.noisy_dir("test") / "wav.scp", ["u1"])
    assert progress.todo(s, ["x=1"]) is None  # must run: signature pending, nothing else
    assert not s.marker.exists() and markers.pending(s.marker).is_file()
    (lo.scores_dir("test") / "base").mkdir()
    progress.finish(s)
    assert s.marker.is_file() and not markers.pending(s.marker).exists()
    assert progress.todo(step(lo, "scores", ["test"]), ["x=1"]) == \
        f"stage 5 (test): already done ({s.marker}); skipped"
    # an input changes (an enhancement reran): the old scores go, the marker first
    (lo.enhanced_dir("ssl_mse") / ".done").write_text("sig 2\n")
    assert progress.todo(step(lo, "scores", ["test"]), ["x=1"]) is None
    assert not s.marker.exists() and not (lo.scores_dir("test") / "base").exists()
    # a changed option word too
    progress.finish(s)
    assert progress.todo(step(lo, "scores", ["test"]), ["x=2"]) is None


def test_training_dir_kept_for_resume_or_moved_aside(tmp_path):
    lo = _layout(tmp_path)
    lo.stats_dir.mkdir(parents=True)
    (lo.stats_dir / ".done").write_text("sig\n")
    s = step(lo, "train", ["base"])
    d = lo.model_dir("base")
    assert progress.todo(s, ["enh_args="]) is None
    assert progress.begin(s) is None
    (d / "checkpoint.pth").write_text("epoch 1")
    (d / "train.log").write_text("run 1")
    # interrupted, rerun with the same inputs: kept (resume), the old log kept aside
    assert progress.todo(s, ["enh_args="]) is None
    assert progress.begin(s) is None
    assert (d / "checkpoint.pth").is_file() and not (d / "train.log").exists()
    assert [p.read_text() for p in d.glob("train.log.*")] == ["run 1"]
    with pytest.raises(RecipeError, match=r"stage 3 \(base\) ended without .*valid.loss.best.pth"):
        progress.finish(s)
    # other inputs: moved aside, nothing of the old run resumed
    assert progress.todo(s, ["enh_args=--max_epoch 9"]) is None
    note = progress.begin(s)
    assert note and "moved to" in note
    assert not (d / "checkpoint.pth").exists() and list(tmp_path.glob("exp/enh_base.stale.*/checkpoint.pth"))
    (d / "valid.loss.best.pth").write_text("best")
    progress.finish(s)
    assert progress.todo(s, ["enh_args=--max_epoch 9"]).endswith("skipped")
    # done needs its outputs too: a lost checkpoint makes it rerun
    (d / "valid.loss.best.pth").unlink()
    assert progress.todo(s, ["enh_args=--max_epoch 9"]) is None


def test_front_ends_made_by(tmp_path):
    lo = _layout(tmp_path)
    assert frontend_step(lo, "clean").marker == lo.data_marker
    assert frontend_step(lo, "noisy").marker == lo.sim_marker
    assert frontend_step(lo, "ssl_mse").title == "stage 4 (enhancement with ssl_mse)"
    two = _layout(tmp_path, num_spk=2)
    assert frontend_step(two, "clean").marker == two.sim_marker
    assert step(two, "sphinx", ["test", "mixture"]).what == "stage 6 (mixture)"
    assert step(_layout(tmp_path, asr_sets=["a", "b"]), "sphinx", ["a", "base"]).what == "stage 6 (a base)"
    with pytest.raises(RecipeError, match="takes 1 key"):
        step(lo, "scores", [])
    with pytest.raises(RecipeError, match="unknown step"):
        step(lo, "nope", [])
    given = _layout(tmp_path, init_param=str(tmp_path / "m.pth"))
    assert step(given, "enhance", ["base"]).needs == []
    assert [n.what for n in step(given, "enhance", ["ssl_mse"]).needs] == ["stage 3 (ssl_mse)"]


def test_split_and_collect(tmp_path):
    lo = _layout(tmp_path, num_spk=2, eval_sets=["dev", "test"])
    a = _scp(tmp_path / "a.scp", [f"u{i}" for i in range(5)])
    b = _scp(tmp_path / "b.scp", ["v1", "v2", "v3"])
    assert collect.split([(a, tmp_path / "pa"), (b, tmp_path / "pb")], nj=4) == 3
    assert [len((tmp_path / f"pa.{k}.scp").read_text().splitlines()) for k in (1, 2, 3)] == [2, 2, 1]
    assert (tmp_path / "pb.1.scp").read_text() == "v1 /audio/v1.wav\n"
    _scp(lo.noisy_dir("dev") / "wav.scp", ["d2", "d1"])
    _scp(lo.noisy_dir("test") / "wav.scp", ["t1"])
    keys = collect.eval_keys(lo)
    assert [ln.split()[0] for ln in keys.read_text().splitlines()] == ["d1", "d2", "t1"]
    mtime = keys.stat().st_mtime_ns
    time.sleep(0.01)
    collect.eval_keys(lo)
    assert keys.stat().st_mtime_ns == mtime  # same content: untouched (its signature stays)
    _scp(lo.noisy_dir("test") / "wav.scp", ["t1", "d1"])
    with pytest.raises(RecipeError, match="utterance ids repeat across dev test"):
        collect.eval_keys(lo)
    _scp(lo.noisy_dir("test") / "wav.scp", ["t1"])
    log = lo.enhanced_dir("base") / "log"
    for n in (1, 2):
        _scp(log / "output.1" / f"spk{n}.scp", ["d2", "t1"])
        _scp(log / "output.2" / f"spk{n}.scp", ["d1"])
    collect.enhanced(lo, "base")
    assert (lo.enhanced_dir("base") / "dev/spk2.scp").read_text().split()[::2] == ["d1", "d2"]
    assert (lo.enhanced_dir("base") / "test/spk1.scp").read_text().split()[::2] == ["t1"]
    (log / "output.2" / "spk2.scp").write_text("")
    with pytest.raises(RecipeError, match="enhanced dev by base is incomplete"):
        collect.enhanced(lo, "base")


def test_decoded_split_per_set_and_scored(tmp_path):
    lo = _layout(tmp_path, asr_sets=["test"])
    _scp(lo.clean_dir("test") / "wav.scp", ["u1", "u2"])
    (lo.clean_dir("test") / "text").write_text("u1 YES\nu2 NO STOP\n")
    out = lo.decode_dir("asr") / "log" / "output.1" / "1best_recog" / "text"
    out.parent.mkdir(parents=True)
    out.write_text("clean__u1 YES\nclean__u2 NO STOP\nnoisy__u1 YES\nnoisy__u2\n"
                   "base__u1 NO\nbase__u2 NO   STOP\nssl_mse__u1 YES\nssl_mse__u2 NO STOP\n")
    lines = collect.decoded(lo, "asr")
    assert lines[0] == "clean: WER 0.00% (0 sub, 0 del, 0 ins / 3 words)"
    assert lines[1].startswith("noisy: WER 66.67%") and lines[2].startswith("base: WER 33.33%")
    assert (lo.decoded_dir("asr", "test", "base") / "text").read_text() == "u1 NO\nu2 NO STOP\n"
    assert (lo.decoded_dir("asr", "test", "noisy") / "wer.json").is_file()


def steps_cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "espnet2_ext.bin.recipe_steps", "--exp", str(tmp_path / "exp"),
                           "--data", str(tmp_path / "data"), "--models", "base ssl_mse", *args],
                          capture_output=True, text=True, env=subprocess_env(), timeout=60)


def test_cli_protocol(tmp_path):
    """What the stage script relies on: todo prints nothing when the step must run,
    its skip line when done, and fails (exit 1, a one-line error) on an unmet need."""
    r = steps_cli(tmp_path, "todo", "data", "--", "local_data_opts=--an4_root x")
    assert r.returncode == 0 and r.stdout == ""
    assert steps_cli(tmp_path, "finish", "data").returncode == 0
    r = steps_cli(tmp_path, "todo", "data", "--", "local_data_opts=--an4_root x")
    assert r.stdout.strip() == f"stage 1: already done ({tmp_path}/data/.stage1.done); skipped"
    r = steps_cli(tmp_path, "todo", "simulation")
    assert r.returncode == 0 and r.stdout == ""
    r = steps_cli(tmp_path, "todo", "stats")
    assert r.returncode == 1 and "stage 2 has not finished" in r.stderr and "Traceback" not in r.stderr
    r = steps_cli(tmp_path, "args", "frontends")
    assert r.stdout.split() == ["noisy", "base", "ssl_mse"]
    r = steps_cli(tmp_path, "path", "model", "base")
    assert r.stdout.split() == [f"{tmp_path}/exp/enh_base/config.yaml", f"{tmp_path}/exp/enh_base/valid.loss.best.pth"]
    r = steps_cli(tmp_path, "path", "model")
    assert r.returncode == 1 and "path model: wrong keys []" in r.stderr
    r = steps_cli(tmp_path, "vars", "task", "pr")
    assert f"t_data={tmp_path}/data/phn" in r.stdout and "t_token_type=word" in r.stdout
    assert steps_cli(tmp_path, "todo", "configs", "--", "upstream=tiny").returncode == 0
    assert (tmp_path / "exp/.configs_checked.pending").is_file()
    assert steps_cli(tmp_path, "forget", "configs").returncode == 0  # a failed check leaves nothing
    assert not (tmp_path / "exp/.configs_checked.pending").exists()


def test_seeded_models_steps(tmp_path):
    lo = _layout(tmp_path, models=["base", "ssl_mse"], seeds=[0, 3])
    assert lo.models == ["base", "ssl_mse_seed0", "ssl_mse_seed3"]
    s0, s3 = step(lo, "train", ["ssl_mse_seed0"]), step(lo, "train", ["ssl_mse_seed3"])
    assert s0.marker == tmp_path / "exp/enh_ssl_mse_seed0/.done"
    assert "seed=0" in s0.inputs and "seed=3" in s3.inputs  # the seed is part of the signature
    assert lo.finetune_config("ssl_mse_seed3") in s3.inputs  # one config copy per loss
    assert step(lo, "enhance", ["ssl_mse_seed3"]).title == "stage 4 (enhancement with ssl_mse_seed3)"
    r = steps_cli(tmp_path, "--seeds", "0 3", "args", "runs")
    assert r.stdout.splitlines() == ["ssl_mse 0 ssl_mse_seed0", "ssl_mse 3 ssl_mse_seed3"]
    r = steps_cli(tmp_path, "--seeds", "0 x", "args", "models")
    assert r.returncode == 1 and "--seeds: 'x' is not a non-negative integer" in r.stderr


def test_new_steps_of_stages_5_6_8(tmp_path):
    lo = _layout(tmp_path)
    rep = step(lo, "repr", ["test"])
    assert rep.marker == tmp_path / "exp/repr/test/.done" and rep.what == "stage 5 (representation distances, test)"
    assert [n.title for n in rep.needs][-1] == "stage 4 (enhancement with ssl_mse)"
    wh = step(lo, "whisper", ["test"])
    assert wh.marker == tmp_path / "exp/asr_whisper/test/.done" and wh.what == "stage 6 (whisper)"
    assert wh.needs[0].marker == lo.data_marker  # clean is decoded too
    pr = step(lo, "probe", [])
    assert pr.marker == tmp_path / "exp/position_probe/.done" and pr.needs[0].marker == lo.data_marker
    assert lo.results("test", "base")["repr"][0] == tmp_path / "exp/repr/test/base/summary.json"
    assert lo.results("test", "base")["whisper"][0] == tmp_path / "exp/asr_whisper/test/base/wer.json"


def test_whisper_keys_split_and_scored(tmp_path):
    """One key list over every front-end's streams (FE__N__UTT); the decoded parts
    split back per front-end and scored with Whisper's normalisation."""
    pytest.importorskip("whisper")
    lo = _layout(tmp_path, asr_sets=["test"])
    _scp(lo.clean_dir("test") / "wav.scp", ["u1", "u2"])
    _scp(lo.noisy_dir("test") / "wav.scp", ["u1", "u2"])
    (lo.noisy_dir("test") / "text").write_text("u1 ELEVEN TWENTY SEVEN\nu2 P I T T S B U R G H\n")
    for m in lo.models:
        _scp(lo.enhanced_dir(m) / "test" / "spk1.scp", ["u1", "u2"])
        (lo.enhanced_dir(m) / ".done").write_text("sig\n")
    for marker in (lo.data_marker, lo.sim_marker):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("sig\n")
    keys = collect.whisper_keys(lo, "test")
    got = [ln.split()[0] for ln in keys.read_text().splitlines()]
    assert got[:2] == ["base__1__u1", "base__1__u2"] and len(got) == 8 and "clean__1__u2" in got
    part = lo.whisper_dir("test") / "log" / "output.1" / "text"
    part.parent.mkdir(parents=True)
    part.write_text("".join(f"{fe}__1__u1 11, 27.\n{fe}__1__u2 {'Pittsburgh.' if fe != 'noisy' else 'Pitts'}\n"
                            for fe in ("clean", "noisy", "base", "ssl_mse")))
    lines = collect.whispered(lo, "test")
    assert lines[0] == "clean: WER 0.00% (0 sub, 0 del, 0 ins / 5 words)"
    assert lines[1] == "noisy: WER 20.00% (1 sub, 0 del, 0 ins / 5 words)"
    res = json.loads((lo.whisper_dir("test") / "noisy" / "wer.json").read_text())
    assert res["per_utt"]["u2"] == {"errors": 1, "words": 1, "ref": "pittsburgh", "hyp": "pitts"}
    assert (lo.whisper_dir("test") / "base" / "text_stream1").read_text() == "u1 11, 27.\nu2 Pittsburgh.\n"
    part.write_text("clean__1__u1 x\n")
    with pytest.raises(RecipeError, match="Whisper's output for test clean .* is incomplete"):
        collect.whispered(lo, "test")
