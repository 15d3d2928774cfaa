"""Shaping what :mod:`naiad.query` read into pandas objects (the only module that builds them).

:mod:`naiad.query` checks arguments and reads through the store seam; this module turns
stored values into typed columns (``_column``) and series into long or wide DataFrames.
pandas and numpy are imported inside the functions: ``import naiad`` stays light.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._read import decode
from ._types import STEP_SCALE, FieldType, float_from_store

if TYPE_CHECKING:
    import pandas as pd

_FLOATS = {int(FieldType.FLOAT), int(FieldType.FLOAT_SERIES)}


@dataclasses.dataclass
class Series:
    label: str
    path: str
    columns: dict[str, Any]  # numpy arrays: step (fixed point), value, timestamp, source


def column(types: set[int], values: list[Any]) -> Any:
    """Stored values of one path as a pandas array of the matching dtype."""
    import numpy as np
    import pandas as pd

    if not types:
        return pd.array(values, dtype=object)
    if types <= _FLOATS | {int(FieldType.INTEGER)} and types & _FLOATS:
        return np.array([float_from_store(v) if type(v) is bytes else v for v in values], dtype=float)
    if len(types) > 1:
        return pd.array([None if v is None else decode(t, v) for t, v in _typed(types, values)], dtype=object)
    ftype = FieldType(next(iter(types)))
    if ftype is FieldType.INTEGER:
        return pd.array(values, dtype="Int64")
    if ftype is FieldType.BOOLEAN:
        return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
    if ftype is FieldType.DATETIME:
        return pd.to_datetime(pd.array(values, dtype="Int64"), unit="us", utc=True)
    if ftype in (FieldType.STRING, FieldType.STRING_SERIES):
        return pd.array(values, dtype=object)
    return pd.array([None if v is None else decode(ftype, v) for v in values], dtype=object)


def _typed(types: set[int], values: list[Any]) -> Iterator[tuple[int, Any]]:
    """Guess each stored value's type when one path holds several types across runs."""
    for v in values:
        if isinstance(v, (bytes, float)):
            yield int(FieldType.FLOAT), v
        elif isinstance(v, int):
            yield (int(FieldType.INTEGER) if FieldType.INTEGER in types else int(min(types))), v
        else:
            text_types = [t for t in types if t not in (FieldType.FLOAT, FieldType.INTEGER)]
            yield (min(text_types) if text_types else int(FieldType.STRING)), v


def _times(stamps: Any) -> Any:
    import numpy as np
    import pandas as pd

    return pd.to_datetime(np.round(stamps * 1_000_000).astype("int64"), unit="us", utc=True)


def long_frame(series: list[Series], label_name: str, with_time: bool, ftype: FieldType) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    sizes = [s.columns["step"].size for s in series]
    dtype = float if ftype is FieldType.FLOAT_SERIES else object
    data: dict[str, Any] = {
        label_name: _repeat([s.label for s in series], sizes),
        "path": _repeat([s.path for s in series], sizes),
        "step": (np.concatenate([s.columns["step"] for s in series]) if series else np.empty(0, np.int64))
        / STEP_SCALE,
        "value": np.concatenate([s.columns["value"] for s in series]) if series else np.empty(0, dtype),
    }
    if with_time:
        stamps = np.concatenate([s.columns["timestamp"] for s in series]) if series else np.empty(0)
        data["timestamp"] = _times(stamps)
    return pd.DataFrame(data)


def _repeat(names: list[str], sizes: list[int]) -> Any:
    """Each name repeated for its series' points, as a categorical (codes, not a million strs)."""
    import numpy as np
    import pandas as pd

    categories = sorted(set(names))
    position = {name: i for i, name in enumerate(categories)}
    codes = np.repeat(np.array([position[n] for n in names], dtype=np.int32), sizes)
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object))


def wide_frame(series: list[Series], label_name: str, with_time: bool, ftype: FieldType) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    dtype = float if ftype is FieldType.FLOAT_SERIES else object
    frames, labels = [], []
    by_label: dict[str, list[Series]] = {}
    for s in series:
        by_label.setdefault(s.label, []).append(s)
    for label in sorted(by_label):
        parts: dict[Any, Any] = {}
        for s in by_label[label]:
            steps = pd.Index(s.columns["step"] / STEP_SCALE, name="step")
            values = pd.Series(s.columns["value"], index=steps, dtype=dtype)
            if with_time:
                parts[(s.path, "value")] = values
                parts[(s.path, "absolute_time")] = pd.Series(_times(s.columns["timestamp"]), index=steps)
            else:
                parts[s.path] = values
        first = next(iter(parts.values())).index
        if all(p.index.equals(first) for p in parts.values()):
            frame = pd.DataFrame(parts, index=first)
        else:
            frame = pd.concat(parts, axis=1, sort=True)
        frames.append(frame)
        labels.append(label)
    if not frames:
        index = pd.MultiIndex.from_arrays(
            [np.empty(0, object), np.empty(0, float)], names=[label_name, "step"]
        )
        return pd.DataFrame(index=index)
    out = pd.concat(frames, keys=labels, names=[label_name, "step"], sort=False)
    order = sorted(out.columns, key=lambda c: (c[0], c[1] != "value") if isinstance(c, tuple) else (c, False))
    return out.reindex(columns=order)
