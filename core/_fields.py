"""The calling thread's half of the engine: type locks, namespaces and series positions.

:class:`FieldState` knows every field of a run (loaded from the store on resume), checks each
write against the path rules, the type lock and the step order, and says what to queue. It
raises before anything is queued, so a rejected call stores nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from . import _sys
from ._paths import check_path, prefixes
from ._types import FieldType, next_whole_step, step_value
from .errors import FieldTypeError, PathError, ReadOnlyFieldError, StepOrderError, article

USER_WRITABLE_SYS = {
    _sys.NAME: FieldType.STRING,
    _sys.TAGS: FieldType.STRING_SET,
    _sys.GROUP_TAGS: FieldType.STRING_SET,
    _sys.DESCRIPTION: FieldType.STRING,
}
_ACTIONS = {
    FieldType.FLOAT: "assign a Float",
    FieldType.INTEGER: "assign an Integer",
    FieldType.BOOLEAN: "assign a Boolean",
    FieldType.STRING: "assign a String",
    FieldType.DATETIME: "assign a Datetime",
    FieldType.STRING_SET: "assign a StringSet",
    FieldType.FLOAT_SERIES: "append a float series point",
    FieldType.STRING_SERIES: "append a string series point",
    FieldType.FILE: "upload a File",
    FieldType.FILE_SERIES: "append a File series point",
    FieldType.ARTIFACT: "track files (Artifact)",
    FieldType.HISTOGRAM_SERIES: "append a histogram",
}

BULK_MIN = 256  # keys in one call from which its checks are first tried in bulk (see in_bulk)

# Inherited last point of a series along the fork lineage: (step, value, parent id, fork step)
Inherited = tuple[int, Any, str, int]


class CallPaths:
    """The fields one call writes. A path given twice (``a`` and ``/a``), or a field and a field
    under it (``a`` and ``a/b``), is an error: one call cannot make both true."""

    def __init__(self) -> None:
        self.keys: dict[str, object] = {}
        self.namespaces: set[str] = set()

    def add(self, key: object, path: str) -> None:
        if path in self.keys:
            raise PathError(
                f"Path '{path}' is given twice in one call (as {self.keys[path]!r} and "
                f"{key!r}); give each field once.",
                path,
            )
        clash = (
            path if path in self.namespaces else next((ns for ns in prefixes(path) if ns in self.keys), None)
        )
        if clash is not None:
            raise PathError(
                f"Cannot write '{path}' in a call that also writes "
                f"{'fields under it' if clash == path else repr(clash)}. A path is a "
                "namespace or a field, never both.",
                path,
            )
        self.keys[path] = key
        self.namespaces.update(prefixes(path))


class FieldState:
    """Types and series positions of one run's fields, as this process knows them."""

    def __init__(self, inherited: Callable[[str], Inherited | None]) -> None:
        self.types: dict[str, FieldType] = {}
        self.namespaces: dict[str, int] = {}  # namespace → number of fields under it
        self.last: dict[str, list[Any]] = {}  # series path → [last fixed step, last value]
        self._valid: dict[str, str] = {}
        self._inherited = inherited
        self._inherited_seen: dict[str, Inherited | None] = {}

    def path(self, path: object) -> str:
        """Validated, normalized path (cached: the same key is checked once)."""
        try:
            norm: str | None = self._valid.get(path)  # type: ignore[call-overload]
        except TypeError:  # unhashable, so not a str: check_path says so
            return check_path(path)
        if norm is None:
            norm = check_path(path)
            if len(self._valid) < 100_000:
                self._valid[path] = norm  # type: ignore[index]
        return norm

    def check_type(self, path: str, ftype: FieldType, *, user: bool = True) -> bool:
        """True when ``path`` is new; raise when it holds another type or clashes."""
        if user and _sys.is_sys(path) and path not in USER_WRITABLE_SYS:
            raise ReadOnlyFieldError(path)
        existing = self.types.get(path) or (USER_WRITABLE_SYS.get(path) if user else None)
        if existing is not None:
            if existing is not ftype:
                raise FieldTypeError(path, existing.label, ftype.label, _ACTIONS[ftype])
            return path not in self.types
        if path in self.namespaces:
            raise PathError(
                f"Cannot write a field at '{path}': it is a namespace holding other fields "
                f"(e.g. '{self._example_under(path)}'). A path is a namespace or a field, never both.",
                path,
            )
        for ns in prefixes(path):
            if ns in self.types:
                label = self.types[ns].label
                raise PathError(
                    f"Cannot write '{path}': '{ns}' is {article(label)} {label} field, not a "
                    "namespace. A path is a namespace or a field, never both.",
                    path,
                )
        return True

    def in_bulk(self, paths: Sequence[str]) -> tuple[list[str], set[str]] | None:
        """The checks of :class:`CallPaths` and :meth:`check_type` for a big call, as set
        operations: (each path's parent, the paths that are fields already) when no path is
        given twice, none clashes with another or with the run's fields and namespaces, and
        none is in ``sys``; else None, and the caller checks path by path (which says what is
        wrong). ``paths`` are normalized (:func:`naiad._paths.all_plain`); the types of the
        fields already there are the caller's to compare.
        """
        given = set(paths)
        if len(given) != len(paths):
            return None
        parents = [p.rpartition("/")[0] for p in paths]
        spaces = ancestors(parents)
        if _sys.NAMESPACE in spaces or _sys.NAMESPACE in given:
            return None
        if not (
            given.isdisjoint(spaces) and given.isdisjoint(self.namespaces) and spaces.isdisjoint(self.types)
        ):
            return None
        return parents, given.intersection(self.types)

    def add_many(self, paths: Sequence[str], ftypes: Sequence[FieldType], parents: Sequence[str]) -> None:
        """:meth:`add` for the new fields of a call checked by :meth:`in_bulk` (``parents``:
        each path's parent, as it returned)."""
        self.types.update(zip(paths, ftypes))
        namespaces = self.namespaces
        counts = Counter(parents)
        counts.pop("", None)
        for parent, n in counts.items():
            for ns in (*prefixes(parent), parent):
                namespaces[ns] = namespaces.get(ns, 0) + n

    def _example_under(self, namespace: str) -> str:
        return next((p for p in self.types if p.startswith(namespace + "/")), namespace + "/…")

    def add(self, path: str, ftype: FieldType) -> None:
        if path not in self.types:
            self.types[path] = ftype
            for ns in prefixes(path):
                self.namespaces[ns] = self.namespaces.get(ns, 0) + 1

    def remove(self, path: str) -> list[str]:
        """Forget a field, or every field under a namespace; return the removed paths."""
        gone = [path] if path in self.types else [p for p in self.types if p.startswith(path + "/")]
        for p in gone:
            del self.types[p]
            self.last.pop(p, None)
            self._inherited_seen.pop(p, None)
            for ns in prefixes(p):
                left = self.namespaces[ns] - 1
                if left:
                    self.namespaces[ns] = left
                else:
                    del self.namespaces[ns]
        return gone

    def series_position(self, path: str) -> tuple[list[Any] | None, Inherited | None]:
        """(own [last step, last value] or None, inherited point from the lineage or None)."""
        own = self.last.get(path)
        if own is not None:
            return own, None
        if path not in self._inherited_seen:
            self._inherited_seen[path] = self._inherited(path)
        return None, self._inherited_seen[path]

    def check_step(self, path: str, step: int, value: Any) -> bool:
        """True to store the point, False for an identical re-send; raise when out of order."""
        own, inherited = self.series_position(path)
        if own is not None:
            last = own[0]
            if step > last:
                return True
            if step == last and _same(value, own[1]):
                return False
            raise StepOrderError(
                f"Step {step_value(step):g} for '{path}' is not after the series' last step "
                f"{step_value(last):g}. Steps in a series strictly increase; re-sending the same "
                "(step, value) is a no-op.",
                path,
                step_value(step),
                step_value(last),
            )
        if inherited is not None and step <= inherited[0]:
            if step == inherited[0] and _same(value, inherited[1]):
                return False  # re-sending the inherited last point, as a resumed loop does
            raise StepOrderError(
                f"Step {step_value(step):g} for '{path}' is not after step "
                f"{step_value(inherited[0]):g}, the last point this run inherits from its parent "
                f"'{inherited[2]}' (forked at step {step_value(inherited[3]):g}). Log steps after "
                "the fork point.",
                path,
                step_value(step),
                step_value(inherited[0]),
            )
        return True

    def next_step(self, path: str) -> int:
        own, inherited = self.series_position(path)
        if own is not None:
            return next_whole_step(own[0])
        if inherited is not None:
            return next_whole_step(inherited[0])
        return 0


def ancestors(parents: Sequence[str]) -> set[str]:
    """Every namespace above paths whose parents are ``parents`` ("" for a top-level path)."""
    out: set[str] = set()
    level = set(parents)
    while level:
        level.discard("")
        out |= level
        level = {p.rpartition("/")[0] for p in level}.difference(out)
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        import struct

        return struct.pack("<d", a) == struct.pack("<d", b)
    return bool(a == b)
