"""User-facing errors and the command-line plumbing of the recipe tools."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple


class RecipeError(RuntimeError):
    """A user-facing error: bad input or a failed step; the message says which and why."""


def run_cli(fn: Callable[[Optional[Sequence[str]]], int], argv=None) -> int:
    """Run a CLI main; a :class:`RecipeError` becomes a one-line error, exit 1."""
    prog = Path(sys.argv[0]).stem
    try:
        return fn(argv) or 0
    except RecipeError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def run_subcommand(prog: str, commands: Dict[str, Callable], argv=None) -> int:
    """``prog CMD ARGS...``: run ``commands[CMD]`` on ARGS through :func:`run_cli`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in commands:
        print(f"usage: {prog} {{{','.join(commands)}}} ...", file=sys.stderr)
        return 2
    return run_cli(commands[argv[0]], argv[1:])


def str2bool(v: str) -> bool:
    if v.lower() in ("true", "1", "yes"):
        return True
    if v.lower() in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, got {v!r}")


def parse_numbers(s: str, what: str) -> Tuple[float, ...]:
    """``"0 1.5"`` or ``"0,1.5"`` -> ``(0.0, 1.5)``; a clear error names the option."""
    try:
        return tuple(float(v) for v in s.replace(",", " ").split())
    except ValueError:
        raise RecipeError(f"{what} must be numbers, got {s!r}") from None


def progress(it: Iterable, desc: str, total: Optional[int] = None):
    """tqdm over ``it`` on stderr (plain iteration if tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return it
    return tqdm(it, desc=desc, total=total, file=sys.stderr, mininterval=5.0)
