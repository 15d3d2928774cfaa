"""What ``neptune_scale`` took, turned into what :class:`naiad.Run` takes.

neptune-scale checks values on the client and drops a bad one with a warning ("Dropping
value. ..."), keeping the rest of the call; these helpers do the same and return the drops'
messages for the caller to log. Errors the Neptune server used to report (a type change, a
step that goes back) come from naiad's core and are mapped by :func:`neptune_error`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .. import File as NaiadFile
from .. import Histogram as NaiadHistogram
from .. import errors as _e
from . import exceptions as _x
from .types import File, Histogram

MAX_STEP = 1_000_000_000_000
MAX_BIN_EDGES = 513
_CONFIG_TYPES = (float, bool, int, str, datetime)


def check_step(step: Any, optional: bool) -> None:
    """neptune-scale's own step check: a number in [0, 1e12) (``None`` where it may be)."""
    if step is None:
        if optional:
            return
        raise TypeError(f"step must be a float or int (was {type(step)})")
    if not isinstance(step, (int, float)):
        raise TypeError(f"step must be a float or int (was {type(step)})")
    if not 0 <= step < MAX_STEP:
        raise ValueError(f"step must have a value between 0 and {MAX_STEP}")


def check_dict(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict (was {type(value)})")


def scalar(value: Any) -> Any:
    """numpy / torch scalars as the Python number they hold (neptune-scale dropped most)."""
    if (
        type(value).__module__.split(".", 1)[0] in ("numpy", "torch")
        and tuple(getattr(value, "shape", (1,))) == ()
    ):
        item = getattr(value, "item", None)
        if item is not None:
            return item()
    return value


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings and dataclasses as ``a/b/c`` keys (``log_configs(flatten=True)``)."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    if not isinstance(data, Mapping):
        raise TypeError(f"Cannot flatten value of type {type(data)}. Try `flatten=False`.")
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, Mapping) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def _is_string_set(value: Any) -> bool:
    return isinstance(value, (list, set, tuple, frozenset)) and all(isinstance(x, str) for x in value)


def _string_keys(data: Mapping[Any, Any], dropped: list[str]) -> list[tuple[str, Any]]:
    """The items with a ``str`` path; the others are dropped, as neptune-scale dropped them."""
    items = []
    for key, value in data.items():
        if isinstance(key, str):
            items.append((key, value))
        else:
            dropped.append(f"Field paths must be strings (got `{key!r}`)")
    return items


def configs(data: Mapping[str, Any], cast_unsupported: bool) -> tuple[dict[str, Any], list[str]]:
    """Config values naiad stores, and a message per value dropped."""
    out: dict[str, Any] = {}
    dropped: list[str] = []
    for key, raw in _string_keys(data, dropped):
        value = scalar(raw)
        if isinstance(value, _CONFIG_TYPES) or _is_string_set(value):
            out[key] = value
        elif cast_unsupported:
            out[key] = "" if value is None else str(value)
        else:
            dropped.append(
                "Config values must be float, bool, int, str, datetime, list, set or tuple "
                f"(got `{key}`:`{raw!r}`)"
            )
    return out, dropped


def metrics(data: Mapping[str, Any]) -> tuple[dict[str, float], list[str]]:
    """Metric values as floats (``float(value)``, as neptune-scale did), and drops."""
    out: dict[str, float] = {}
    dropped: list[str] = []
    for key, raw in _string_keys(data, dropped):
        try:
            out[key] = float(raw)
        except (ValueError, TypeError, OverflowError):
            dropped.append(f"Metrics' values must be float or int (got `{key}`:`{raw!r}`)")
    return out, dropped


def strings(data: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    out: dict[str, str] = {}
    dropped: list[str] = []
    for key, value in _string_keys(data, dropped):
        if isinstance(value, str):
            out[key] = value
        else:
            dropped.append(f"String series values must be strings (got `{key}`:`{value!r}`)")
    return out, dropped


def histograms(data: Mapping[str, Any]) -> tuple[dict[str, NaiadHistogram], list[str]]:
    """:class:`types.Histogram` values as naiad's, checked as neptune-scale checked them."""
    out: dict[str, NaiadHistogram] = {}
    dropped: list[str] = []
    for key, value in _string_keys(data, dropped):
        if not isinstance(value, (Histogram, NaiadHistogram)):
            dropped.append(f"Histogram values must be of type Histogram (got `{key}`:`{value!r}`)")
            continue
        try:
            out[key] = _histogram(value)
        except (TypeError, ValueError) as e:
            dropped.append(f"{e} (at `{key}`)")
    return out, dropped


def _histogram(h: Histogram | NaiadHistogram) -> NaiadHistogram:
    if isinstance(h, NaiadHistogram):
        return h
    edges = h.bin_edges_as_list()
    if len(edges) > MAX_BIN_EDGES:
        raise ValueError(f"Histogram can have at most {MAX_BIN_EDGES} bin edges, got {len(edges)}")
    if any(isinstance(x, float) and math.isnan(x) for x in edges):
        raise ValueError("Histogram bin edges must not contain NaN")
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError("Histogram bin edges must be strictly increasing")
    if (h.counts is None) == (h.densities is None):
        raise ValueError("Histogram takes either counts or densities, not both or neither")
    if h.counts is not None:
        counts = h.counts_as_list()
        if not all(isinstance(c, int) or (isinstance(c, float) and c.is_integer()) for c in counts):
            raise ValueError("Histogram counts must be whole numbers; use densities for fractions")
        if len(counts) != len(edges) - 1:
            raise ValueError(
                f"Histogram has {len(edges)} bin edges for {len(counts)} counts; it needs one more edge"
            )
        return NaiadHistogram(bin_edges=edges, counts=counts)
    densities = h.densities_as_list()
    if len(densities) != len(edges) - 1:
        raise ValueError(
            f"Histogram has {len(edges)} bin edges for {len(densities)} densities; it needs one more edge"
        )
    return NaiadHistogram(bin_edges=edges, densities=densities)


def files(data: Mapping[str, Any]) -> tuple[dict[str, NaiadFile], list[str]]:
    """Paths, bytes, file objects and :class:`types.File` as naiad files; skipped ones' reasons."""
    out: dict[str, NaiadFile] = {}
    skipped: list[str] = []
    for key, value in _string_keys(data, skipped):
        try:
            out[key] = _file(value)
        except (TypeError, ValueError, OSError) as e:
            skipped.append(f"Skipping file attribute `{key}`: {e}")
    return out, skipped


def _file(value: Any) -> NaiadFile:
    name: str | None = None
    mime: str | None = None
    if isinstance(value, File):
        source, mime = value.source, value.mime_type
        if value.destination:
            name = PurePosixPath(value.destination).name or None  # a name, never a path
    elif isinstance(value, NaiadFile):
        return value
    else:
        source = value
    if isinstance(source, (str, os.PathLike)):
        if not Path(source).is_file():
            raise FileNotFoundError(f"File not found: {os.fspath(source)}")
    elif not isinstance(source, (bytes, bytearray, memoryview)) and not hasattr(source, "read"):
        raise TypeError(f"a file is a path, bytes or a binary file object, not {type(source).__name__}")
    return NaiadFile(source, name=name, mime=mime)


def neptune_error(error: _e.NaiadError) -> _x.NeptuneScaleError:
    """naiad's error as the neptune-scale exception a callback expects; the cause is kept."""
    text = str(error)
    mapped: _x.NeptuneScaleError
    if isinstance(error, _e.StepOrderError):
        if "inherits from its parent" in text:
            mapped = _x.NeptuneSeriesStepNotAfterForkPoint(text)
        else:
            mapped = _x.NeptuneSeriesStepNonIncreasing(text)
    elif isinstance(error, _e.FieldTypeError):
        mapped = _x.NeptuneAttributeTypeMismatch(text)
    elif isinstance(error, _e.ReadOnlyFieldError):
        mapped = _x.NeptuneAttributePathNonWritable(text)
    elif isinstance(error, _e.PathError):
        mapped = _x.NeptuneAttributePathInvalid(text)
    elif isinstance(error, _e.FieldValueError) and "limit is" in text:
        mapped = _x.NeptuneStringValueExceedsSizeLimit(text)
    elif isinstance(error, _e.FieldValueError):
        mapped = _x.NeptuneUnableToLogData(text)
    else:
        mapped = _x.NeptuneUnexpectedError(text)
    mapped.__cause__ = error
    return mapped
