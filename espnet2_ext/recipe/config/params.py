"""Which keyword options a class's constructor takes, and checking a ``*_conf`` against them."""

from __future__ import annotations

import inspect
from typing import Any, Optional, Set, Tuple

from espnet2_ext.recipe.config.problems import Report, close, one_of


def accepted_params(cls) -> Tuple[Optional[Set[str]], bool]:
    """Keyword names the constructor of ``cls`` takes, and whether it takes ``**kwargs``.

    ``None`` when the signature cannot be read.  For espnet2_ext's own classes,
    ``**kwargs`` is followed into the base classes' ``__init__`` (they forward
    it to ``super().__init__``).
    """
    names: Set[str] = set()
    target = cls
    seen = set()
    while True:
        try:
            sig = inspect.signature(target.__init__ if isinstance(target, type) else target)
        except (TypeError, ValueError):
            return None, True
        var_kw = False
        for p in sig.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
            elif p.kind is not p.VAR_POSITIONAL and p.name != "self":
                names.add(p.name)
        if not var_kw:
            return names, False
        if not isinstance(target, type) or not target.__module__.startswith("espnet2_ext."):
            return names, True
        # the next base class in the MRO that defines its own __init__
        nxt = next((b for b in target.__mro__[1:] if "__init__" in vars(b) and b not in seen), None)
        if nxt is None or nxt is object:
            return names, True
        seen.add(nxt)
        target = nxt


def check_kwargs(rep: Report, key: str, cls, conf: Any, what: str) -> bool:
    """Report keys of ``conf`` that ``cls`` does not take; False if any (or not a mapping)."""
    if conf is None:
        return True
    if not isinstance(conf, dict):
        rep.error(key, f"must be a mapping of options of {what}, got {type(conf).__name__}")
        return False
    names, var_kw = accepted_params(cls)
    if names is None or var_kw:
        return True
    ok = True
    for k in conf:
        if k not in names:
            rep.error(f"{key}.{k}", f"not an option of {what}{close(k, names)}; "
                      f"options: {one_of(names)}")
            ok = False
    return ok


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
