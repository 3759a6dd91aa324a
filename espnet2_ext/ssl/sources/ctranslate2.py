"""Reader of CTranslate2's ``model.bin`` (the format faster-whisper models ship in).

Written from the format's public description (CTranslate2's model
serialisation), without the ``ctranslate2`` package.  Layout, little-endian:

* ``uint32`` binary version (read here: 4 to 6);
* string spec name, ``uint32`` spec revision (strings are ``uint16`` byte
  count including a final NUL, then UTF-8 bytes and the NUL);
* ``uint32`` number of variables, then per variable: string name, ``uint8``
  rank, ``rank`` x ``uint32`` dims, ``uint8`` dtype id (0 float32, 1 int8,
  2 int16, 3 int32, 4 float16, 5 bfloat16), ``uint32`` byte count, the bytes;
* ``uint32`` number of aliases, then per alias: string alias, string target.

A model split in several files (parts joined by concatenation) is read as
one stream.  Variables can be filtered by name so that unused ones (e.g. a
decoder) are skipped without being read.
"""

import os
import struct
from typing import BinaryIO, Callable, Dict, List, NamedTuple, Optional, Sequence

import numpy as np
import torch

from espnet2_ext.ssl.errors import SSLCheckpointError

SUPPORTED_VERSIONS = (4, 5, 6)

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


class CT2Model(NamedTuple):
    """Content of a ``model.bin``: header, the selected variables (CPU tensors), aliases."""

    spec: str
    revision: int
    binary_version: int
    variables: Dict[str, torch.Tensor]
    aliases: Dict[str, str]


class _Stream:
    """Sequential reads across the parts of one logical file."""

    def __init__(self, paths: Sequence[str]):
        self.paths = [os.fspath(p) for p in paths]
        self._files: List[BinaryIO] = []
        self._i = 0
        self.what = " + ".join(self.paths)

    def __enter__(self):
        self._files = [open(p, "rb") for p in self.paths]
        return self

    def __exit__(self, *exc):
        for f in self._files:
            f.close()

    def read(self, n: int) -> bytes:
        chunks = []
        while n > 0 and self._i < len(self._files):
            b = self._files[self._i].read(n)
            if len(b) < n:
                self._i += 1
            chunks.append(b)
            n -= len(b)
        if n > 0:
            raise SSLCheckpointError(f"CTranslate2 model {self.what} is truncated (a variable or header runs past "
                                     "the end of the file): incomplete download or a missing part?")
        return b"".join(chunks)

    def skip(self, n: int) -> None:
        while n > 0 and self._i < len(self._files):
            f = self._files[self._i]
            pos = f.tell()
            end = f.seek(0, os.SEEK_END)
            if pos + n <= end:
                f.seek(pos + n)
                return
            n -= end - pos
            self._i += 1
        if n > 0:
            self.read(n)  # raises the truncation error

    def at_end(self) -> bool:
        return all(f.read(1) == b"" for f in self._files[self._i:])

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.read(struct.calcsize("<" + fmt)))

    def string(self) -> str:
        (n,) = self.unpack("H")
        raw = self.read(n)
        if not raw or raw[-1:] != b"\0":
            raise SSLCheckpointError(f"CTranslate2 model {self.what}: malformed string in the header")
        return raw[:-1].decode("utf-8")


def _tensor(raw: bytes, dtype_id: int, dims, name: str, what: str) -> torch.Tensor:
    if dtype_id not in _DTYPES:
        raise SSLCheckpointError(f"CTranslate2 model {what}: variable {name!r} has unknown dtype id {dtype_id}")
    dt = _DTYPES[dtype_id]
    if dt == "bfloat16":
        t = torch.frombuffer(bytearray(raw), dtype=torch.bfloat16) if raw else torch.empty(0, dtype=torch.bfloat16)
    else:
        t = torch.from_numpy(np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<")).astype(dt, copy=True))
    numel = int(np.prod(dims)) if dims else 1
    if t.numel() != numel:
        raise SSLCheckpointError(f"CTranslate2 model {what}: variable {name!r} has {t.numel()} values "
                                 f"for shape {tuple(dims)}")
    return t.reshape(tuple(dims))


def read_model(paths: Sequence[str], keep: Optional[Callable[[str], bool]] = None) -> CT2Model:
    """Read a CTranslate2 ``model.bin`` (given as its parts, in order).

    ``keep(name)`` selects the variables to load (default: all); the others
    are skipped.  Scalars come back as 0-d tensors.  Errors name the file.
    """
    for p in paths:
        if not os.path.isfile(p):
            raise SSLCheckpointError(f"CTranslate2 model file not found: {p!r}")
    with _Stream(paths) as s:
        (version,) = s.unpack("I")
        if version not in SUPPORTED_VERSIONS:
            raise SSLCheckpointError(
                f"{s.what} is not a CTranslate2 model this reader knows: binary version {version} "
                f"(supported: {', '.join(map(str, SUPPORTED_VERSIONS))})")
        spec = s.string()
        (revision,) = s.unpack("I")
        (count,) = s.unpack("I")
        variables: Dict[str, torch.Tensor] = {}
        for _ in range(count):
            name = s.string()
            (rank,) = s.unpack("B")
            dims = s.unpack(f"{rank}I") if rank else ()
            dtype_id, num_bytes = s.unpack("BI")
            if keep is None or keep(name):
                variables[name] = _tensor(s.read(num_bytes), dtype_id, dims, name, s.what)
            else:
                s.skip(num_bytes)
        (n_alias,) = s.unpack("I")
        aliases = {}
        for _ in range(n_alias):
            alias = s.string()
            aliases[alias] = s.string()
        if not s.at_end():
            raise SSLCheckpointError(f"CTranslate2 model {s.what}: unexpected bytes after the last alias "
                                     "(parts in the wrong order, or not a CTranslate2 file)")
    return CT2Model(spec, revision, version, variables, aliases)
