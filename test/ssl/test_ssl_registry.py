"""The ssl package's registry: source kinds, layer parsing, private-API isolation."""

import ast
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
