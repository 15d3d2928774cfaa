"""Errors raised by naiad.

Every error derives from :class:`NaiadError` and also from the builtin exception it refines,
so ``except TypeError`` or ``except ValueError`` keep working::

    NaiadError
    ├── PathError            (ValueError)   invalid path, or a field/namespace clash
    ├── FieldTypeError       (TypeError)    write of another type to a type-locked field
    ├── FieldValueError      (ValueError)   value of no supported type, or out of range
    ├── StepOrderError       (ValueError)   non-increasing step in a series
    ├── ReadOnlyFieldError   (ValueError)   user write to a read-only ``sys/*`` field
    ├── ForkParentNotFound   (LookupError)  fork parent absent from the project
    ├── RunNotFound          (LookupError)  run to read or sync does not exist
    ├── FieldNotFound        (KeyError)     read of a path that holds nothing
    ├── ModeError            (RuntimeError) write to a read-only or closed run
    ├── ConfigError          (TypeError)    an argument a run or an integration does not take
    ├── FilterSyntaxError    (ValueError)   bad filter string, with the column it fails at
    └── StorageError         (OSError)      the store cannot be opened, read or written
        ├── SchemaVersionError              the store was written by another naiad version
        ├── StoreReplaced                   the store was deleted or replaced under an open handle
        ├── LockTimeout                     another writer held the write lock too long
        ├── JournalDamaged                  an offline journal changed after it was sealed, or is broken
        └── AccessDenied    (PermissionError) a naiad server refused the token (missing,
                                            unknown, revoked, or without the right)
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "AccessDenied",
    "ConfigError",
    "FieldNotFound",
    "FieldTypeError",
    "FieldValueError",
    "FilterSyntaxError",
    "ForkParentNotFound",
    "JournalDamaged",
    "LockTimeout",
    "ModeError",
    "NaiadError",
    "NaiadWarning",
    "PathError",
    "ReadOnlyFieldError",
    "RunNotFound",
    "SchemaVersionError",
    "StepOrderError",
    "StorageError",
    "StoreReplaced",
]


def article(word: str) -> str:
    """'a' or 'an' before a type name: an Integer, a Float."""
    return "an" if word[:1].lower() in "aeiou" else "a"


class NaiadError(Exception):
    """Root of every error naiad raises."""


class PathError(NaiadError, ValueError):
    """A path breaks the path rules, or names a field where a namespace is (or vice versa)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class FieldTypeError(NaiadError, TypeError):
    """A write of one type to a field that is locked to another type."""

    def __init__(self, path: str, existing_type: str, attempted_type: str, action: str) -> None:
        super().__init__(
            f"Field '{path}' is {article(existing_type)} {existing_type}; cannot {action} to it. "
            "A field keeps the type of its first write: delete it first "
            f'(del run["{path}"]) or use another path.'
        )
        self.path = path
        self.existing_type = existing_type
        self.attempted_type = attempted_type


class FieldValueError(NaiadError, ValueError):
    """A value naiad cannot store as given (unsupported type, out of range, too long)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class StepOrderError(NaiadError, ValueError):
    """A series point whose step does not follow the series' last step."""

    def __init__(self, message: str, path: str, step: float, last_step: float | None) -> None:
        super().__init__(message)
        self.path = path
        self.step = step
        self.last_step = last_step


class ReadOnlyFieldError(NaiadError, ValueError):
    """A user write to a ``sys/*`` field that naiad maintains."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"Field '{path}' is maintained by naiad and is read-only. Only sys/tags, "
            "sys/group_tags and sys/description can be written; log your value under "
            "another path."
        )
        self.path = path


class ForkParentNotFound(NaiadError, LookupError):
    """The run named by ``fork_run_id`` does not exist in the project."""


class RunNotFound(NaiadError, LookupError):
    """The run asked for does not exist in the project."""


class FieldNotFound(NaiadError, KeyError):
    """A read of a path that holds no field."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ModeError(NaiadError, RuntimeError):
    """A write to a run that cannot take it (read-only mode, or already closed)."""


class ConfigError(NaiadError, TypeError):
    """An argument a run or an integration does not take (a typo): raised at construction,
    before training starts, instead of training unlogged."""

    def __init__(self, message: str, names: list[str] | None = None) -> None:
        super().__init__(message)
        self.names = list(names or [])


class FilterSyntaxError(NaiadError, ValueError):
    """A filter string that does not parse; ``.column`` is the 1-based position of the fault."""

    def __init__(self, message: str, text: str, column: int) -> None:
        pointer = " " * (column - 1) + "^"
        super().__init__(f"{message} at column {column}:\n  {text}\n  {pointer}")
        self.text = text
        self.column = column


class StorageError(NaiadError, OSError):
    """The store cannot be opened, read or written."""


class SchemaVersionError(StorageError):
    """The store's schema version is not the one this naiad understands."""


class StoreReplaced(StorageError):
    """The store under an open handle was deleted or replaced: reopen it, then reopen the run."""


class LockTimeout(StorageError):
    """Another writer held the store's write lock longer than the caller would wait."""


class JournalDamaged(StorageError):
    """An offline journal no longer matches its seal, or fails SQLite's integrity check: not synced."""


class AccessDenied(StorageError, PermissionError):
    """A naiad server refused the request's token: ``status`` 401 (no valid token) or 403
    (the token lacks the right to the project)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


class NaiadWarning(UserWarning):
    """A logging problem that naiad reports instead of raising (dropped points, storage faults)."""


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[Warning] = NaiadWarning) -> None:
    """Warn at the user's line: the first caller outside the naiad package (its layers and
    integrations included), however deep inside naiad the warning is raised."""
    level, frame = 2, sys._getframe(1)
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
