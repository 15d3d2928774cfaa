"""Regular expressions from users (filters, ``runs=``, ``attributes=``) that cannot run away.

With ``google-re2`` installed (a dependency of naiad), patterns run on RE2, whose matching time
is linear in the text: ``(a+)+$`` over any name costs microseconds. RE2 has no backreferences
nor lookarounds; such a pattern is refused as invalid. Without RE2, Python's ``re`` is used and
patterns that nest one repetition inside another (the shape of catastrophic backtracking) are
refused, so the documented limit is the same on both engines: no nested repetition.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Protocol


class Pattern(Protocol):
    def search(self, text: str) -> Any: ...


class RegexError(ValueError):
    """A pattern that does not compile, or that the safe engine refuses."""


@functools.lru_cache(maxsize=512)
def compile(text: str) -> Pattern:
    """``text`` compiled on a linear-time engine; :class:`RegexError` when it cannot be."""
    try:
        import re2  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ModuleNotFoundError:
        return _python(text)
    options = re2.Options()
    options.log_errors = False
    try:
        pattern: Pattern = re2.compile(text, options=options)
    except re2.error as e:
        detail = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise RegexError(f"{detail} (naiad matches with RE2: no backreferences or lookarounds)") from None
    return pattern


def _python(text: str) -> Pattern:
    try:
        compiled = re.compile(text)
        import importlib
        import sys

        parser = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")
        if _nested(parser.parse(text), False):
            raise RegexError(
                "a repetition inside a repetition (such as (a+)+) can take exponential time; "
                "rewrite it without nesting, or install google-re2"
            )
    except re.error as e:
        raise RegexError(str(e)) from None
    return compiled


_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _nested(tokens: Any, inside: bool) -> bool:
    for op, arg in tokens:
        name = str(op)
        if name in _REPEATS:
            if inside or _nested(arg[2], True):
                return True
        else:
            children = [arg[-1]] if name == "SUBPATTERN" else arg[1] if name == "BRANCH" else []
            if any(_nested(child, inside) for child in children):
                return True
    return False
