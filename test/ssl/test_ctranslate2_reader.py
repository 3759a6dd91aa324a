"""The CTranslate2 ``model.bin`` reader on files written here from the format description."""

import struct

import numpy as np
import pytest
import torch

from espnet2_ext.ssl import SSLCheckpointError
from espnet2_ext.ssl.sources.ctranslate2 import read_model

_IDS = {np.float32: 0, np.int8: 1, np.int16: 2, np.int32: 3, np.float16: 4}


def _string(s):
    b = s.encode() + b"\0"
    return struct.pack("<H", len(b)) + b


def write_model(variables, aliases=(), version=6, spec="WhisperSpec", revision=3):
    out = struct.pack("<I", version) + _string(spec) + struct.pack("<I", revision)
    out += struct.pack("<I", len(variables))
    for name, arr in variables.items():
        if isinstance(arr, torch.Tensor):  # bfloat16
            raw, dims, type_id = arr.view(torch.int16).numpy().tobytes(), arr.shape, 5
        else:
            raw, dims, type_id = arr.astype(arr.dtype.newbyteorder("<")).tobytes(), arr.shape, _IDS[arr.dtype.type]
        out += _string(name) + struct.pack("<B", len(dims)) + struct.pack(f"<{len(dims)}I", *dims)
        out += struct.pack("<BI", type_id, len(raw)) + raw
    out += struct.pack("<I", len(aliases))
    for alias, target in aliases:
        out += _string(alias) + _string(target)
    return out


VARS = {
    "encoder/w": np.arange(12, dtype=np.float16).reshape(3, 4) / 8,
    "encoder/b": np.array([1.5, -2.25], dtype=np.float32),
    "encoder/num_heads": np.array(6, dtype=np.int16),
    "decoder/ids": np.array([[1, -2], [3, 4]], dtype=np.int32),
    "decoder/q": np.array([-7, 7], dtype=np.int8),
    "decoder/bf": torch.tensor([0.5, -3.0], dtype=torch.bfloat16),
}


def test_reads_every_dtype_aliases_and_parts(tmp_path):
    blob = write_model(VARS, aliases=[("decoder/projection/weight", "encoder/w")])
    whole = tmp_path / "model.bin"
    whole.write_bytes(blob)
    m = read_model([str(whole)])
    assert (m.spec, m.revision, m.binary_version) == ("WhisperSpec", 3, 6)
    assert m.aliases == {"decoder/projection/weight": "encoder/w"}
    for name, arr in VARS.items():
        got = m.variables[name]
        want = arr if isinstance(arr, torch.Tensor) else torch.from_numpy(np.array(arr))
        assert got.dtype == want.dtype and got.shape == want.shape and torch.equal(got, want), name
    # the same file cut in two anywhere (here inside a variable's bytes) reads the same
    cut = len(blob) // 2
    (tmp_path / "a").write_bytes(blob[:cut])
    (tmp_path / "b").write_bytes(blob[cut:])
    parts = read_model([str(tmp_path / "a"), str(tmp_path / "b")])
    assert all(torch.equal(parts.variables[k], m.variables[k]) for k in VARS)
    # a filter skips what it does not keep
    enc = read_model([str(tmp_path / "a"), str(tmp_path / "b")], keep=lambda n: n.startswith("encoder/"))
    assert sorted(enc.variables) == ["encoder/b", "encoder/num_heads", "encoder/w"]


def test_errors_name_the_file(tmp_path):
    blob = write_model(VARS)
    bad = tmp_path / "truncated.bin"
    bad.write_bytes(blob[:-40])
    with pytest.raises(SSLCheckpointError, match="truncated.bin.*truncated"):
        read_model([str(bad)])
    old = tmp_path / "v3.bin"
    old.write_bytes(write_model(VARS, version=3))
    with pytest.raises(SSLCheckpointError, match="v3.bin.*binary version 3"):
        read_model([str(old)])
    extra = tmp_path / "extra.bin"
    extra.write_bytes(blob + b"\0\0")
    with pytest.raises(SSLCheckpointError, match="extra.bin.*unexpected bytes"):
        read_model([str(extra)])
    with pytest.raises(SSLCheckpointError, match="not found.*missing.bin"):
        read_model([str(tmp_path / "missing.bin")])
