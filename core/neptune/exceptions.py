"""``neptune.exceptions``: the names scripts and framework callbacks import and catch."""

from __future__ import annotations

from .. import NaiadError

__all__ = [
    "NeptuneException",
    "NeptuneMissingApiTokenException",
    "NeptuneMissingProjectNameException",
]


class NeptuneException(NaiadError):
    """The base of the layer's errors (a :class:`naiad.NaiadError`)."""


class NeptuneMissingApiTokenException(NeptuneException):
    """Never raised: naiad needs no token. Exists so ``except`` clauses written for Neptune import."""


class NeptuneMissingProjectNameException(NeptuneException):
    """Never raised: without a project naiad uses its configured (or ``default``) project."""
