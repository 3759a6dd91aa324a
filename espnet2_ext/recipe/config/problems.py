"""The result of checking one config, and the wording of its messages."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import List


@dataclass
class Report:
    """The result of checking one config file: ``CONFIG: key: why`` lines."""

    path: str
    task: str
    errors: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    built: bool = False

    def error(self, key: str, why: str) -> None:
        self.errors.append(f"{self.path}: {key}: {why}")

    def note(self, why: str) -> None:
        self.notes.append(f"{self.path}: note: {why}")

    @property
    def ok(self) -> bool:
        return not self.errors


def close(word, candidates, n: int = 3) -> str:
    """`` (did you mean 'a', 'b'?)`` for the close matches of ``word``, else ``""``."""
    m = difflib.get_close_matches(str(word), [str(c) for c in candidates if c is not None], n=n, cutoff=0.6)
    return f" (did you mean {', '.join(repr(x) for x in m)}?)" if m else ""


def one_of(candidates, limit: int = 12) -> str:
    c = sorted(str(x) for x in candidates if x is not None)
    more = f", ... ({len(c)} in all)" if len(c) > limit else ""
    return ", ".join(c[:limit]) + more


def describe(e: BaseException) -> str:
    """An exception on one line: ``Type: message``."""
    return f"{type(e).__name__}: {' '.join(str(e).split()) or '(no message)'}"


def class_label(name: str, cls) -> str:
    return f"{name!r} ({cls.__module__}.{cls.__qualname__})"
