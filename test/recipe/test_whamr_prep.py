"""WHAMR! data preparation on a miniature tree with WHAMR!'s real layout, built
from the shared AN4 audio (8 kHz and 16 kHz, ``min`` mixtures); the recipe's
stages 1-2 on it; its configs build an ESPnet model."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from espnet2_ext.recipe.corpora.an4 import read_transcription
from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import check_data_dir, read_table
from espnet2_ext.recipe.corpora.whamr import prepare, source_ids

from recipe_helpers import REPO, make_recipe_dir, run_recipe, shared_or_skip

WHAMR_RECIPE = REPO / "egs2" / "whamr" / "sep1"
FOLDERS = ["mix_both_reverb", "mix_single_reverb", "mix_clean_reverb", "mix_both_anechoic",
           "mix_single_anechoic", "mix_clean_anechoic", "s1_anechoic", "s2_anechoic",
           "s1_reverb", "s2_reverb", "noise"]
PER_SPLIT = {"tr": 3, "cv": 2, "tt": 2}


def _resample(x, sr):
    from scipy.signal import resample_poly

    return x if sr == 16000 else resample_poly(x, sr, 16000).astype(np.float32)


def make_whamr(root: Path, an4: Path, rates=("16k", "8k")):
    """WHAMR!-layout tree (wav{8k,16k}/min/{tr,cv,tt}/<folder>/<u1>_<g>_<u2>_<-g>.wav)."""
    files = sorted((an4 / "wav").rglob("*.sph"))
    rng = np.random.default_rng(0)
    rir = np.exp(-np.arange(800) / 120.0) * rng.standard_normal(800)
    rir[0] = 1.0
    names = {}
    k = 0
    for split, n in PER_SPLIT.items():
        names[split] = []
        for _ in range(n):
            a, b = files[k], files[k + 1]
            k += 2
            if a.parent.name == b.parent.name:  # different speakers
                b = files[k]
                k += 1
            g = round(float(rng.uniform(0, 2.5)), 4)
            name = f"{a.stem}_{g}_{b.stem}_{-g}"
            names[split].append(name)
            s1, _ = sf.read(str(a), dtype="float32")
            s2, _ = sf.read(str(b), dtype="float32")
            L = min(len(s1), len(s2))  # "min" mixtures
            an = [s1[:L], s2[:L] * 10 ** (-g / 20)]
            rv = [np.convolve(x, rir)[:L].astype(np.float32) * 0.3 for x in an]
            noise = (0.01 * rng.standard_normal(L)).astype(np.float32)
            sig = {"s1_anechoic": an[0], "s2_anechoic": an[1], "s1_reverb": rv[0],
                   "s2_reverb": rv[1], "noise": noise,
                   "mix_both_reverb": rv[0] + rv[1] + noise, "mix_single_reverb": rv[0] + noise,
                   "mix_clean_reverb": rv[0] + rv[1], "mix_both_anechoic": an[0] + an[1] + noise,
                   "mix_single_anechoic": an[0] + noise, "mix_clean_anechoic": an[0] + an[1]}
            for rate in rates:
                sr = 16000 if rate == "16k" else 8000
                for folder in FOLDERS:
                    p = root / f"wav{rate}" / "min" / split / folder / f"{name}.wav"
                    p.parent.mkdir(parents=True, exist_ok=True)
                    sf.write(str(p), _resample(sig[folder], sr), sr, subtype="FLOAT")
    return names


def transcripts(an4: Path, out: Path) -> Path:
    t = {}
    for part in ("train", "test"):
        t.update(read_transcription(an4 / "etc" / f"an4_{part}.transcription"))
    out.write_text("".join(f"{k} {v}\n" for k, v in sorted(t.items())))
    return out


@pytest.fixture(scope="module")
def whamr(tmp_path_factory):
    shared = shared_or_skip()
    root = tmp_path_factory.mktemp("whamr_corpus") / "whamr"
    names = make_whamr(root, shared / "an4")
    text = transcripts(shared / "an4", root.parent / "an4_text")
    return {"root": root, "names": names, "text": text, "an4": shared / "an4"}


def test_source_ids():
    assert source_ids("011a0101_0.061105_401c020r_-0.061105") == ["011a0101", "401c020r"]
    with pytest.raises(RecipeError, match="utt1"):
        source_ids("no_underscores_here")


def test_prepare_16k_in_place(whamr, tmp_path):
    n = prepare(whamr["root"], tmp_path / "data", fs="16k", transcripts=whamr["text"])
    assert n == {"train": 3, "dev": 2, "test": 2}
    extra = ["spk1.scp", "spk2.scp", "dereverb1.scp", "dereverb2.scp", "noise1.scp",
             "text_spk1", "text_spk2", "utt2srcs"]
    trans = read_table(whamr["text"])
    for split, name in (("tr", "train"), ("cv", "dev"), ("tt", "test")):
        d = tmp_path / "data" / name
        assert check_data_dir(d, extra=extra) == []
        wav = read_table(d / "wav.scp")
        assert sorted(wav) == sorted(whamr["names"][split])
        base = whamr["root"] / "wav16k" / "min" / split
        for key in wav:
            assert wav[key] == str((base / "mix_both_reverb" / f"{key}.wav").resolve())
            assert read_table(d / "spk2.scp")[key] == str((base / "s2_reverb" / f"{key}.wav").resolve())
            assert read_table(d / "dereverb1.scp")[key].endswith(f"s1_anechoic/{key}.wav")
            assert read_table(d / "noise1.scp")[key].endswith(f"noise/{key}.wav")
            u1, u2 = source_ids(key)
            assert read_table(d / "text_spk1")[key] == trans[u1]
            assert read_table(d / "text_spk2")[key] == trans[u2]
            assert read_table(d / "utt2spk")[key] == key


def test_prepare_8k_resampled_to_16k(whamr, tmp_path):
    prepare(whamr["root"], tmp_path / "data", fs="8k", mix="mix_single_reverb", ref="anechoic",
            dump_dir=tmp_path / "dump", splits=["tt"])
    d = tmp_path / "data" / "test"
    assert not (d / "text_spk1").exists()  # no transcripts given
    key = sorted(read_table(d / "wav.scp"))[0]
    for scp, folder in (("wav.scp", "mix_single_reverb"), ("spk1.scp", "s1_anechoic"),
                        ("noise1.scp", "noise")):
        p = Path(read_table(d / scp)[key])
        assert tmp_path / "dump" in p.parents and p.parent.name == folder
        x, sr = sf.read(str(p))
        orig, sr0 = sf.read(str(whamr["root"] / "wav8k/min/tt" / folder / f"{key}.wav"))
        assert sr == 16000 and sr0 == 8000 and len(x) == 2 * len(orig)
    assert abs(float(read_table(d / "utt2dur")[key]) - len(orig) / 8000) < 2e-3
    with pytest.raises(RecipeError, match="--dump_dir"):
        prepare(whamr["root"], tmp_path / "d2", fs="8k", splits=["tt"])


def test_prepare_errors(whamr, tmp_path):
    with pytest.raises(RecipeError, match="wav16k/max"):
        prepare(whamr["root"], tmp_path / "d", mode="max")
    with pytest.raises(RecipeError, match="lacks source"):
        bad = tmp_path / "t"
        bad.write_text("nobody HELLO\n")
        prepare(whamr["root"], tmp_path / "d", transcripts=bad, splits=["tt"])
    r = subprocess.run([sys.executable, "-m", "espnet2_ext.bin.prep_whamr",
                        "--whamr_root", str(tmp_path), "--data_dir", str(tmp_path / "d")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "no wav16k/min/" in r.stderr


def test_recipe_stages_1_2(whamr, tmp_path):
    """run.sh --stop_stage 2: WHAMR! prep through the stage script, mixtures used as given;
    the corpus options reach local/data.sh (--local_data_opts)."""
    d = make_recipe_dir(tmp_path, WHAMR_RECIPE)
    r = run_recipe(d, "--whamr_root", str(whamr["root"]), "--fs", "8k",
                   "--wsj0_text", str(whamr["text"]), "--stop_stage", "2", "--ngpu", "0", timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for name, n in (("train", 3), ("dev", 2), ("test", 2)):
        nd = d / "data" / f"{name}_noisy"
        assert len(read_table(nd / "wav.scp")) == n
        assert (nd / "text_spk2").is_file() and (nd / "dereverb2.scp").is_file()
        x, sr = sf.read(next(iter(read_table(nd / "spk1.scp").values())))
        assert sr == 16000
    log = (d / "exp/data/log/data.log").read_text()
    assert "data/test: 2 mixtures" in log
    assert "dump/whamr/tt" in read_table(d / "data/test_noisy/wav.scp")[sorted(whamr["names"]["tt"])[0]]


CONFS = sorted((WHAMR_RECIPE / "conf").glob("sep_*.yaml"))


@pytest.mark.parametrize("conf", CONFS, ids=[c.stem for c in CONFS])
def test_whamr_config_builds_and_trains_one_step(tmp_path, conf):
    import torch

    import espnet2_ext  # noqa: F401
    from espnet2_ext.tasks.enh import EnhancementTask

    cfg = yaml.safe_load(conf.read_text())
    ups = [c["conf"]["upstream"] for c in cfg["criterions"] if c["name"].startswith("ssl_")]
    assert all(u in ("wav2vec2_asr_base_960h", "hubert_base") for u in ups)
    for c in cfg["criterions"]:  # offline: the tiny encoder, a small separator
        if c["name"].startswith("ssl_"):
            c["conf"]["upstream"] = "tiny"
    cfg["separator_conf"].update(layer=2, stack=1, bottleneck_dim=32, hidden_dim=32)
    cfg["encoder_conf"]["channel"] = cfg["decoder_conf"]["channel"] = 32
    path = tmp_path / conf.name
    path.write_text(yaml.safe_dump(cfg))
    args = EnhancementTask.get_parser().parse_args(["--config", str(path)])
    model = EnhancementTask.build_model(args)
    T = 8000
    batch = {"speech_mix": torch.randn(2, T), "speech_mix_lengths": torch.tensor([T, T]),
             "speech_ref1": torch.randn(2, T) * 0.5, "speech_ref2": torch.randn(2, T) * 0.5}
    model.train()
    loss, stats, _ = model(**batch)
    assert torch.isfinite(loss)
    loss.backward()
    if ups:
        assert "si_snr_guide" in stats
