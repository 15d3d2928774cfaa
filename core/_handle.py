"""``run["a/b"]``: a handle on one path, in the style of neptune 1.x."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._files import File, download_target, safe_filename, write_blob
from ._read import Lineage, decode, float_series, other_series, series_frame
from ._types import FieldType, step_text, to_float
from .errors import FieldNotFound, FieldValueError

if TYPE_CHECKING:
    import pandas as pd

    from ._engine import Engine


class Handle:
    """A path of a run: assign to it, append to it, upload to it, or read it back.

    Example:
        >>> run["train/loss"].append(0.9, step=1)  # doctest: +SKIP
        >>> run["train/loss"].fetch_last()  # doctest: +SKIP
        0.9
    """

    __slots__ = ("_path", "_run")

    def __init__(self, run: Engine, path: str) -> None:
        self._run = run
        self._path = path

    def __repr__(self) -> str:
        return f"<naiad.Handle {self._path!r} of run {self._run.run_id!r}>"

    def __getitem__(self, sub: str) -> Handle:
        return Handle(self._run, self._run._f.path(f"{self._path}/{sub}"))

    def __setitem__(self, sub: str, value: Any) -> None:
        self._run._assign(self._run._f.path(f"{self._path}/{sub}"), value, cast_unsupported=False)

    def __delitem__(self, sub: str) -> None:
        self._run._delete(self._run._f.path(f"{self._path}/{sub}"))

    # -- writing ----------------------------------------------------------------------------------
    def assign(self, value: Any, cast_unsupported: bool = False) -> None:
        """Set the field (a dict makes a namespace)."""
        self._run._assign(self._path, value, cast_unsupported)

    def append(
        self, value: Any, step: int | float | None = None, timestamp: datetime | float | None = None
    ) -> None:
        """Append one point: a number, a str, a :class:`naiad.File` or a :class:`naiad.Histogram`."""
        run, path = self._run, self._path
        with run._lock:  # the type seen here is the type the append checks against
            existing = run._f.types.get(path)
            if existing is None:
                existing = _series_type_of(value)
            if existing is FieldType.FLOAT_SERIES or (
                existing not in (FieldType.STRING_SERIES, FieldType.FILE_SERIES, FieldType.HISTOGRAM_SERIES)
                and not isinstance(value, (str, File))
            ):
                run._log_floats({path: value}, step, timestamp)
            else:
                run._append_many({path: value}, existing, step, timestamp)

    log = append  # neptune 0.x name

    def extend(
        self,
        values: Sequence[Any],
        steps: Sequence[int | float] | None = None,
        timestamps: Sequence[Any] | None = None,
    ) -> None:
        """Append several points; ``steps`` and ``timestamps`` match ``values`` in length."""
        values = list(values)
        for name, other in (("steps", steps), ("timestamps", timestamps)):
            if other is not None and len(other) != len(values):
                raise FieldValueError(
                    f"extend on '{self._path}': {len(values)} values but {len(other)} {name}.", self._path
                )
        with self._run._lock:  # another thread's points never interleave with these
            existing = self._run._f.types.get(self._path)
            float_series = values and (existing or _series_type_of(values[0])) is FieldType.FLOAT_SERIES
            if self._run._raise and float_series:  # on_error="warn" drops only the bad points
                for value in values:  # a bad value refuses the whole call before any point is kept
                    to_float(self._path, value)
            if not self._run._room(len(values)):  # admitted or dropped whole, never in part
                return
            self._run._admitted = True
            try:
                for i, value in enumerate(values):
                    step = None if steps is None else steps[i]
                    self.append(value, step, None if timestamps is None else timestamps[i])
            finally:
                self._run._admitted = False

    def upload(self, source: Any, name: str | None = None) -> None:
        """Upload a file (path, bytes or file object) into this File field."""
        self._run._upload(self._path, source if isinstance(source, File) else File(source, name))

    def track_files(self, path: str | os.PathLike[str]) -> None:
        """Record a manifest (paths, sizes, sha256) of a file, directory, glob or s3:// URI."""
        self._run._track_files(self._path, path)

    def add(self, items: Iterable[str] | str) -> None:
        """Add strings to this StringSet."""
        self._run._set_change(self._path, "add", items)

    def remove(self, items: Iterable[str] | str) -> None:
        self._run._set_change(self._path, "remove", items)

    def clear(self) -> None:
        self._run._set_change(self._path, "clear", None)

    def delete(self) -> None:
        self._run._delete(self._run._f.path(self._path))

    # -- reading ----------------------------------------------------------------------------------
    def fetch(self) -> Any:
        """The value (atoms), the last value (series), metadata (files), or, for a namespace,
        its fields as a nested dict (as ``run.fetch()`` gives the whole run)."""
        try:
            rec = self._run._field_record(self._path)
        except FieldNotFound:
            tree = self._run._fetch_tree(self._path)
            if not tree:
                raise
            return tree
        return decode(rec.type, rec.value)

    def fetch_last(self) -> Any:
        """The last value of a series."""
        return self.fetch()

    def fetch_values(self, include_timestamp: bool = True, lineage_to_the_root: bool = True) -> pd.DataFrame:
        """The series as a DataFrame: step, value, timestamp (UTC), run_id (with lineage).

        With ``lineage_to_the_root=True`` a forked run's series starts with its ancestors'
        points up to each fork step.
        """
        run = self._run
        ftype = self._series_type()
        store = run._store
        assert store is not None
        chain: Lineage = run._lineage() if lineage_to_the_root else [(run._record, None)]
        if ftype is FieldType.FLOAT_SERIES:
            cols = float_series(store, chain, self._path)
        else:
            cols = other_series(store, chain, self._path, ftype)
        return series_frame(cols, chain, include_time=include_timestamp, with_run=lineage_to_the_root)

    def _series_type(self) -> FieldType:
        run = self._run
        run._sync_reads()
        ftype = run._f.types.get(self._path)
        if ftype is None and run._record.parent_pk is not None:
            ftype = self._inherited_type()
        if ftype is None:
            from .errors import FieldNotFound

            raise FieldNotFound(f"Run '{run.run_id}' has no series '{self._path}'.")
        if not ftype.is_series:
            raise FieldValueError(f"'{self._path}' is a {ftype.label}, not a series.", self._path)
        return ftype

    def _inherited_type(self) -> FieldType | None:
        run = self._run
        assert run._store is not None
        for rec, _ in reversed(run._lineage()[:-1]):
            found = run._store.field(rec.pk, self._path)
            if found is not None:
                return FieldType(found.type)
        return None

    def download(self, destination: str | os.PathLike[str] | None = None) -> Path | list[Path]:
        """Write the file(s) to ``destination``; never outside it. Returns the written paths.

        A File goes inside ``destination`` when it is an existing directory (named after the
        field plus the original extension), else to ``destination`` itself. A FileSeries
        writes one file per step into the ``destination`` directory.
        """
        run = self._run
        rec = run._field_record(self._path)
        assert run._store is not None
        dest = None if destination is None else Path(destination)
        stem = self._path.rsplit("/", 1)[-1]
        if rec.type == FieldType.FILE:
            meta = decode(rec.type, rec.value)
            target = download_target(dest, stem, meta["name"])
            return write_blob(run._store.blobs.open(meta["sha256"]), target)
        if rec.type == FieldType.FILE_SERIES:
            folder = dest if dest is not None else Path.cwd()
            folder.mkdir(parents=True, exist_ok=True)
            written = []
            for step, _, value in run._store.points(run._record.pk, self._path, None):
                meta = decode(rec.type, value)
                name = safe_filename(f"{stem}_{step_text(step)}", meta["name"])
                written.append(write_blob(run._store.blobs.open(meta["sha256"]), folder / name))
            return written
        raise FieldValueError(
            f"'{self._path}' is a {FieldType(rec.type).label}; only File and "
            "FileSeries fields can be downloaded.",
            self._path,
        )


def _series_type_of(value: Any) -> FieldType:
    from ._types import Histogram

    if isinstance(value, str):
        return FieldType.STRING_SERIES
    if isinstance(value, File):
        return FieldType.FILE_SERIES
    if isinstance(value, Histogram):
        return FieldType.HISTOGRAM_SERIES
    return FieldType.FLOAT_SERIES
