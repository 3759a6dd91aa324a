"""Representation distances of stage 5 (score_repr): the criterions' own values in
eval mode, 0 for the reference itself, growing with the distortion, N speakers
under the best permutation, and the files and errors of the tool."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from espnet2_ext.recipe.scoring import representation as rep
from recipe_helpers import speech_like


def _scp(tmp_path, name, signals):
    lines = []
    for utt, x in signals.items():
        p = tmp_path / f"{name}_{utt}.wav"
        sf.write(str(p), x, 16000, subtype="FLOAT")
        lines.append(f"{utt} {p}\n")
    (tmp_path / f"{name}.scp").write_text("".join(lines))
    return tmp_path / f"{name}.scp"


@pytest.fixture(scope="module")
def criteria():
    return rep.make_criteria("tiny")


def test_distances_are_the_criterions_eval_values(criteria):
    ref = speech_like(16000, seed=1)
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    zero = rep.distances(criteria, [ref], [ref])
    assert zero["repr_mse"] == pytest.approx(0.0, abs=1e-9)
    assert zero["repr_sdtw"] == pytest.approx(0.0, abs=1e-3)  # soft-DTW divergence of identical inputs
    small = rep.distances(criteria, [ref], [ref + 0.02 * noise])
    large = rep.distances(criteria, [ref], [ref + 0.2 * noise])
    for m in rep.METRICS:
        assert 0 < small[m] < large[m], m
    from espnet2_ext.enh.loss.criterions.ssl import SSLMSELoss, SSLSoftDTWLoss

    est = ref + 0.2 * noise
    r, e = torch.from_numpy(ref)[None], torch.from_numpy(est)[None]
    with torch.no_grad():
        mse = SSLMSELoss(upstream="tiny").eval()(r, e, torch.tensor([16000]))
        sdtw = SSLSoftDTWLoss(upstream="tiny").eval()(r, e, torch.tensor([16000]))
    assert large["repr_mse"] == pytest.approx(float(mse), rel=1e-5)
    assert large["repr_sdtw"] == pytest.approx(float(sdtw), rel=1e-5)
    # eval mode: no random perturbation, the same value every time
    assert rep.distances(criteria, [ref], [est]) == large


def test_score_system_files_and_permutation(tmp_path, criteria):
    a, b = speech_like(16000, seed=2), speech_like(16000, seed=3)[::-1].copy()
    noise = 0.05 * np.random.default_rng(1).standard_normal(16000).astype(np.float32)
    r1, r2 = _scp(tmp_path, "r1", {"u1": a}), _scp(tmp_path, "r2", {"u1": b})
    e1, e2 = _scp(tmp_path, "e1", {"u1": a + noise}), _scp(tmp_path, "e2", {"u1": b + noise})
    ordered = rep.score_system(criteria, [r1, r2], [e1, e2], tmp_path / "o")
    swapped = rep.score_system(criteria, [r1, r2], [e2, e1], tmp_path / "s")
    assert swapped["repr_mse"] == pytest.approx(ordered["repr_mse"])  # the best SI-SDR assignment
    assert ordered["num_utts"] == 1
    lines = (tmp_path / "o/per_utt.tsv").read_text().splitlines()
    assert lines[0] == "utt\trepr_mse\trepr_sdtw" and lines[1].startswith("u1\t")
    assert json.loads((tmp_path / "o/summary.json").read_text())["repr_sdtw"] == pytest.approx(ordered["repr_sdtw"])


def test_cli(tmp_path, capsys):
    ref = speech_like(12000, seed=4)
    r = _scp(tmp_path, "ref", {"u1": ref, "u2": ref[::-1].copy()})
    e = _scp(tmp_path, "est", {"u1": ref, "u2": ref[::-1].copy()})
    half = _scp(tmp_path, "half", {"u1": ref, "u2": ref[::-1].copy() * 0.5})
    assert rep.cli(["--upstream", "tiny", "--ref_scp", str(r), "--out_dir", str(tmp_path / "out"),
                    f"same={e}", f"half={half}"]) == 0
    same = json.loads((tmp_path / "out/same/summary.json").read_text())
    assert same["num_utts"] == 2 and same["repr_mse"] < 1e-9
    assert json.loads((tmp_path / "out/half/summary.json").read_text())["repr_mse"] > same["repr_mse"]
    assert "same: repr_mse=" in capsys.readouterr().out
    short = _scp(tmp_path, "short", {"u1": ref})
    assert rep.cli(["--upstream", "tiny", "--ref_scp", str(r), "--out_dir", str(tmp_path / "x"), f"s={short}"]) == 1
    assert "lacks 1 utterance(s)" in capsys.readouterr().err
    assert rep.cli(["--upstream", "tiny", "--sdtw_conf", "{bad", "--ref_scp", str(r), "--out_dir",
                    str(tmp_path / "x"), f"s={e}"]) == 1
    assert "--sdtw_conf is not valid JSON" in capsys.readouterr().err
    assert rep.cli(["--upstream", "tiny", "--layers", "x", "--ref_scp", str(r), "--out_dir",
                    str(tmp_path / "x"), f"s={e}"]) == 1
    assert "--layers" in capsys.readouterr().err
