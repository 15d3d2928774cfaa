"""Which runs a read selects: the arguments of ``naiad.query`` and the UI, checked and described.

Both the query functions and the UI's runs table describe their runs this way; the store
compiles the :class:`RunSelection` (filter tree included) into its own query.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import _filter, _regex
from ._storage import RunSelection

Names = str | Sequence[str] | None
_REGEX_CHARS = frozenset(".^$*+?{}[]\\|()")


def is_regex(name: str) -> bool:
    """True when a ``runs=`` / ``experiments=`` string is read as a regular expression."""
    return any(c in _REGEX_CHARS for c in name)


def selection(
    project: str,
    heads: bool,
    names: Names,
    filter: str | None,
    trashed: bool | None,
    sort_by: str | None = None,
    ascending: bool = True,
    limit: int | None = None,
) -> RunSelection:
    """Check the arguments and describe the selection; the store compiles it.

    ``names``: exact names, or one regular expression (:func:`is_regex`) searched in them;
    ``trashed``: False leaves the trash out, True keeps only it, None keeps all.
    """
    exact: tuple[str, ...] | None = None
    regex: str | None = None
    if names is not None:
        if isinstance(names, str):
            if is_regex(names):
                try:
                    _regex.compile(names)
                except _regex.RegexError as e:
                    raise ValueError(f"Invalid regular expression {names!r} for the names: {e}.") from None
                regex = names
            else:
                exact = (names,)
        elif not all(isinstance(n, str) for n in names):
            raise TypeError("runs= / experiments= take a name, a list of names, or a regex string.")
        else:
            exact = tuple(names)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a whole number >= 0; got {limit!r}.")
    node = _filter.parse(filter) if filter is not None and filter.strip() else None
    return RunSelection(
        project=project,
        heads=heads,
        names=exact,
        names_regex=regex,
        filter=node,
        trashed=trashed,
        sort_by=sort_by,
        ascending=ascending,
        limit=limit,
    )
