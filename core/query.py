"""Read many runs at once: tables of runs and experiments, metric series, files.

The names follow ``neptune-query`` so Neptune users feel at home. Every function takes
keyword-only ``project=`` and ``store=``, resolved like :class:`naiad.Run` does (argument,
``NAIAD_*`` environment, ``naiad.toml`` / ``[tool.naiad]``, default), and returns pandas
objects. ``store=`` may also be an open store (the CLI and the UI pass theirs; it stays open).

Layers: this module checks arguments and describes the runs wanted as a
:class:`~naiad._storage.RunSelection`; the store compiles and runs it (no SQL here); reads go
through the store seam (:mod:`naiad._read` stitches lineages); :mod:`naiad._query_frames`
shapes the result into pandas.

Selecting runs:

- ``filter=``: a filter string (see :mod:`naiad._filter` and the README), e.g.
  ``'config/lr > 0.001 and last(training/val/loss) < 0.3'``.
- ``runs=`` / ``experiments=``: a name, a list of names (always exact), or a regular
  expression. A single string is a regular expression when it holds one of
  ``. ^ $ * + ? { } [ ] \\ | ( )``, and it matches anywhere in the name (``re.search``;
  anchor it with ``^...$``); otherwise it is an exact name. Pass a one-item list to match a
  name with such characters exactly.
- An experiment is the set of runs that share ``sys/experiment/name``; experiment-level
  functions read the experiment's head (``sys/experiment/is_head``), and its metrics are
  stitched along the fork lineage.
- Trashed runs (``sys/trashed``) are left out unless ``trashed=None`` (all) or ``True`` (only
  trashed), or the filter itself mentions ``sys/trashed``.

Example:
    >>> from naiad import query
    >>> query.fetch_runs_table(filter="config/lr > 0.001", attributes=["config/lr"])  # doctest: +SKIP
    >>> query.fetch_metrics(experiments="seabird", attributes=r"^training/val/")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _query_frames as _frames
from . import _regex, _sys
from ._files import safe_filename, unique_path, write_blob
from ._read import Lineage, decode, float_series, lineage, other_series
from ._selection import Names
from ._selection import selection as _query
from ._settings import resolve
from ._storage import RunSelection, RunStore, open_store
from ._types import STEP_SCALE, FieldType, step_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "download_files",
    "fetch_experiments_table",
    "fetch_metrics",
    "fetch_runs_table",
    "fetch_series",
    "list_experiments",
    "list_runs",
]

PathLike = str | os.PathLike[str] | None
StoreArg = str | os.PathLike[str] | RunStore | None  # a location, or an open store (kept open)
DEFAULT_COLUMNS = (_sys.NAME, _sys.STATE, _sys.CREATION_TIME)


# -- opening and selecting ---------------------------------------------------------------------------
@contextlib.contextmanager
def _opened(project: str | None, store: StoreArg) -> Iterator[tuple[RunStore, str]]:
    """The store to read and the project: an open store is used as it is (and stays open);
    a location (or None: the settings) is opened for the call and closed after it."""
    if store is not None and not isinstance(store, (str, os.PathLike)):
        settings = resolve({"project": project, "store": None})
        yield store, settings.project
        return
    settings = resolve({"project": project, "store": None if store is None else os.fspath(store)})
    opened = open_store(settings.store, create=False, blobs=settings.blobs)
    try:
        yield opened, settings.project
    finally:
        opened.close()


# -- listing ---------------------------------------------------------------------------------------
def list_runs(
    runs: Names = None,
    *,
    filter: str | None = None,
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> list[str]:
    """Run ids (``sys/custom_run_id``) of the selected runs, in the order they were created.

    Example:
        >>> list_runs(filter='sys/tags contains "baseline"')  # doctest: +SKIP
        ['seabird-1', 'seabird-2']
    """
    with _opened(project, store) as (st, proj):
        q = _query(proj, False, runs, filter, trashed)
        return [label for _, label in st.select_runs(q, time.time())]


def list_experiments(
    experiments: Names = None,
    *,
    filter: str | None = None,
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> list[str]:
    """Names of the experiments whose head run matches, sorted.

    Example:
        >>> list_experiments(r"^seabird")  # doctest: +SKIP
        ['seabird', 'seabird-large']
    """
    with _opened(project, store) as (st, proj):
        q = _query(proj, True, experiments, filter, trashed)
        return sorted(label for _, label in st.select_runs(q, time.time()))


# -- tables ----------------------------------------------------------------------------------------
def fetch_runs_table(
    runs: Names = None,
    *,
    filter: str | None = None,
    attributes: str | Sequence[str] | None = None,
    sort_by: str | None = _sys.CREATION_TIME,
    ascending: bool = False,
    limit: int | None = None,
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> pd.DataFrame:
    """One row per run (index ``run``), one column per attribute path.

    ``attributes``: a list of exact paths (in that order; a path no run has gives an empty
    column), or a regular expression matched (``re.search``) against every path of the
    selected runs (columns sorted). Default: ``sys/name``, ``sys/state``,
    ``sys/creation_time`` and every non-``sys`` value field (numbers, strings, booleans,
    datetimes, string sets, and float series). A series column holds its last value.

    Example:
        >>> fetch_runs_table(filter="exists(config/lr)", attributes=["config/lr"], limit=10)  # doctest: +SKIP
    """
    return _fetch_table(
        heads=False,
        names=runs,
        filter=filter,
        attributes=attributes,
        sort_by=sort_by,
        ascending=ascending,
        limit=limit,
        trashed=trashed,
        project=project,
        store=store,
    )


def fetch_experiments_table(
    experiments: Names = None,
    *,
    filter: str | None = None,
    attributes: str | Sequence[str] | None = None,
    sort_by: str | None = _sys.CREATION_TIME,
    ascending: bool = False,
    limit: int | None = None,
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> pd.DataFrame:
    """One row per experiment head (index ``experiment``); columns as in :func:`fetch_runs_table`.

    Example:
        >>> fetch_experiments_table(attributes=r"^training/val/")  # doctest: +SKIP
    """
    return _fetch_table(
        heads=True,
        names=experiments,
        filter=filter,
        attributes=attributes,
        sort_by=sort_by,
        ascending=ascending,
        limit=limit,
        trashed=trashed,
        project=project,
        store=store,
    )


def _fetch_table(
    *,
    heads: bool,
    names: Names,
    filter: str | None,
    attributes: str | Sequence[str] | None,
    sort_by: str | None,
    ascending: bool,
    limit: int | None,
    trashed: bool | None,
    project: str | None,
    store: StoreArg,
) -> pd.DataFrame:
    if attributes is not None and not isinstance(attributes, str):
        attributes = list(dict.fromkeys(attributes))
        if not all(isinstance(a, str) for a in attributes):
            raise TypeError("attributes= takes a list of paths or a regex string.")
    pattern = _compile_regex(attributes, "attributes") if isinstance(attributes, str) else None
    with _opened(project, store) as (st, proj):
        q = _query(proj, heads, names, filter, trashed, sort_by, ascending, limit)
        chosen, columns, cells = _table_cells(st, q, attributes, pattern)
    import pandas as pd  # after the checks: a bad filter or a missing store fails fast

    data = {path: _frames.column(*cells[path]) for path in columns}
    index = pd.Index([label for _, label in chosen], name="experiment" if heads else "run", dtype=object)
    return pd.DataFrame(data, index=index, columns=pd.Index(columns, dtype=object))


def _count_runs(
    names: Names = None,
    *,
    heads: bool = False,
    filter: str | None = None,
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> int:
    """How many runs (``heads``: experiments) the selection holds, counted by the store: a
    table's total without listing every run."""
    with _opened(project, store) as (st, proj):
        return st.count_runs(_query(proj, heads, names, filter, trashed), time.time())


def _plain_table(
    attributes: list[str],
    *,
    names: Names = None,
    heads: bool = False,
    filter: str | None = None,
    sort_by: str | None = _sys.CREATION_TIME,
    ascending: bool = False,
    limit: int | None = None,
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> tuple[list[str], dict[str, tuple[set[int], list[Any]]]] | None:
    """What :func:`fetch_runs_table` holds, as row labels and each column's types and
    decoded values, without pandas (``naiad ls`` prints a page of 100,000 runs in less time
    than importing pandas takes). None when a column mixes types: the frame decides those."""
    attributes = list(dict.fromkeys(attributes))
    with _opened(project, store) as (st, proj):
        q = _query(proj, heads, names, filter, trashed, sort_by, ascending, limit)
        chosen, _, cells = _table_cells(st, q, attributes, None)
    if any(len(types) > 1 for types, _ in cells.values()):
        return None
    out: dict[str, tuple[set[int], list[Any]]] = {}
    for path in attributes:
        types, values = cells[path]
        ftype = next(iter(types), None)
        out[path] = (
            types,
            values if ftype is None else [None if v is None else decode(ftype, v) for v in values],
        )
    return [label for _, label in chosen], out


def _table_cells(
    st: RunStore, q: RunSelection, attributes: list[str] | str | None, pattern: _regex.Pattern | None
) -> tuple[list[tuple[int, str]], list[str], dict[str, tuple[set[int], list[Any]]]]:
    """The selected runs, the columns, and each column's stored types and values."""
    now = time.time()
    chosen = st.select_runs(q, now)
    pks, n = [pk for pk, _ in chosen], len(chosen)
    index = {pk: i for i, (pk, _) in enumerate(chosen)}
    cells: dict[str, tuple[set[int], list[Any]]] = {}
    if isinstance(attributes, list):
        cells = {p: (set(), [None] * n) for p in attributes}
        rows = st.field_rows(pks, attributes)
    else:  # one pass over every field of the chosen runs; each path is judged once
        rows = st.field_rows(pks)
    skip: set[str] = set()
    for run_pk, path, ftype, value in rows:
        cell = cells.get(path)
        if cell is None:
            if path in skip:
                continue
            if not _default_column(path, ftype, pattern):
                skip.add(path)
                continue
            cell = cells[path] = (set(), [None] * n)
        cell[0].add(ftype)
        cell[1][index[run_pk]] = value
    if isinstance(attributes, list):
        columns = attributes
    elif pattern is not None:
        columns = sorted(cells)
    else:
        columns = [*DEFAULT_COLUMNS, *sorted(set(cells) - set(DEFAULT_COLUMNS))]
        for path in DEFAULT_COLUMNS:
            cells.setdefault(path, (set(), [None] * n))
    if _sys.STATE in cells:
        active = st.active_runs(pks, now)
        cells[_sys.STATE] = (
            {int(FieldType.STRING)},
            [
                _sys.state(pk in active) if v is not None else None
                for (pk, _), v in zip(chosen, cells[_sys.STATE][1])
            ],
        )
    return chosen, columns, cells


def _default_column(path: str, ftype: int, pattern: _regex.Pattern | None) -> bool:
    """Whether a path becomes a column: it matches the regex, or (no regex) it is a default."""
    if pattern is not None:
        return pattern.search(path) is not None
    return path in DEFAULT_COLUMNS or (
        not _sys.is_sys(path) and (FieldType(ftype).is_value or ftype == FieldType.FLOAT_SERIES)
    )


def _compile_regex(text: str, what: str) -> _regex.Pattern:
    try:
        return _regex.compile(text)
    except _regex.RegexError as e:
        raise ValueError(f"Invalid regular expression {text!r} for {what}=: {e}.") from None


# -- series ----------------------------------------------------------------------------------------
def fetch_metrics(
    experiments: Names = None,
    runs: Names = None,
    attributes: str | Sequence[str] = r".*",
    *,
    filter: str | None = None,
    step_range: tuple[float | None, float | None] = (None, None),
    tail_limit: int | None = None,
    lineage_to_the_root: bool = True,
    include_time: str | None = None,
    format: str = "wide",
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> pd.DataFrame:
    """Float series of experiments (their heads) or of runs, as one DataFrame.

    Pass ``runs=`` for runs (labelled ``run``), otherwise experiments are read (labelled
    ``experiment``; ``experiments=None`` means all). With ``lineage_to_the_root`` (default) a
    forked run's series begin with its ancestors' points up to each fork step.

    ``format="wide"``: index (experiment|run, step), one column per path; with
    ``include_time="absolute"`` the columns are (path, "value") and (path, "absolute_time").
    ``format="long"``: columns experiment|run, path, step, value (and timestamp).
    ``step_range`` is inclusive; ``tail_limit`` keeps the last N points of each series.

    Example:
        >>> fetch_metrics("seabird", attributes=r"loss$", step_range=(100, None))  # doctest: +SKIP
    """
    return _fetch_series(
        FieldType.FLOAT_SERIES,
        experiments=experiments,
        runs=runs,
        attributes=attributes,
        filter=filter,
        step_range=step_range,
        tail_limit=tail_limit,
        lineage_to_the_root=lineage_to_the_root,
        include_time=include_time,
        format=format,
        trashed=trashed,
        project=project,
        store=store,
    )


def fetch_series(
    experiments: Names = None,
    runs: Names = None,
    attributes: str | Sequence[str] = r".*",
    *,
    filter: str | None = None,
    step_range: tuple[float | None, float | None] = (None, None),
    tail_limit: int | None = None,
    lineage_to_the_root: bool = True,
    include_time: str | None = None,
    format: str = "wide",
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> pd.DataFrame:
    """String series, shaped like :func:`fetch_metrics` (values are ``str``).

    Example:
        >>> fetch_series(runs="seabird-3", attributes=["notes"], format="long")  # doctest: +SKIP
    """
    return _fetch_series(
        FieldType.STRING_SERIES,
        experiments=experiments,
        runs=runs,
        attributes=attributes,
        filter=filter,
        step_range=step_range,
        tail_limit=tail_limit,
        lineage_to_the_root=lineage_to_the_root,
        include_time=include_time,
        format=format,
        trashed=trashed,
        project=project,
        store=store,
    )


def _fetch_series(
    ftype: FieldType,
    *,
    experiments: Names = None,
    runs: Names = None,
    attributes: str | Sequence[str] = r".*",
    filter: str | None = None,
    step_range: tuple[float | None, float | None] = (None, None),
    tail_limit: int | None = None,
    lineage_to_the_root: bool = True,
    include_time: str | None = None,
    format: str = "wide",
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """What :func:`fetch_metrics` and :func:`fetch_series` do, for the CLI also with a
    progress callback (``progress(done, total)`` per run read)."""
    if format not in ("wide", "long"):
        raise ValueError(f"format must be 'wide' or 'long'; got {format!r}.")
    if include_time not in (None, "absolute"):
        raise ValueError(f"include_time must be None or 'absolute'; got {include_time!r}.")
    if tail_limit is not None and (
        isinstance(tail_limit, bool) or not isinstance(tail_limit, int) or tail_limit < 0
    ):
        raise ValueError(f"tail_limit must be a whole number >= 0; got {tail_limit!r}.")
    by_run = runs is not None
    if by_run and experiments is not None:
        raise ValueError("Pass experiments= or runs=, not both.")
    label_name = "run" if by_run else "experiment"
    with _opened(project, store) as (st, proj):
        q = _query(proj, not by_run, runs if by_run else experiments, filter, trashed)
        series = _read_series(st, q, ftype, attributes, step_range, tail_limit, lineage_to_the_root, progress)
    if format == "long":
        return _frames.long_frame(series, label_name, include_time == "absolute", ftype)
    return _frames.wide_frame(series, label_name, include_time == "absolute", ftype)


def _read_series(
    st: RunStore,
    q: RunSelection,
    ftype: FieldType,
    attributes: str | Sequence[str],
    step_range: tuple[float | None, float | None],
    tail_limit: int | None,
    with_lineage: bool,
    progress: Callable[[int, int], None] | None,
) -> list[_frames.Series]:
    chosen = st.select_runs(q, time.time())
    chains: list[tuple[str, Lineage]] = []
    for pk, label in chosen:
        record = st.get_run(pk)
        chains.append((label, lineage(st, record) if with_lineage else [(record, None)]))
    wanted = _path_matcher(attributes)
    all_pks = sorted({run.pk for _, chain in chains for run, _ in chain})
    owned: dict[int, set[str]] = {}
    for run_pk, path, _, _ in st.field_rows(all_pks, ftype=int(ftype)):
        if wanted(path):
            owned.setdefault(run_pk, set()).add(path)
    out: list[_frames.Series] = []
    for i, (label, chain) in enumerate(chains):
        paths = sorted(set().union(*(owned.get(run.pk, set()) for run, _ in chain)))
        for path in paths:
            # only the runs that hold the series are read; each keeps its lineage limit
            holders = [(run, limit) for run, limit in chain if path in owned.get(run.pk, ())]
            if ftype is FieldType.FLOAT_SERIES:
                cols = float_series(st, holders, path, step_range, tail_limit)
            else:
                cols = other_series(st, holders, path, int(ftype), step_range, tail_limit)
            if cols["step"].size:
                out.append(_frames.Series(label, path, cols))
        if progress is not None:
            progress(i + 1, len(chains))
    return out


def _path_matcher(attributes: str | Sequence[str]) -> Callable[[str], bool]:
    if isinstance(attributes, str):
        pattern = _compile_regex(attributes, "attributes")
        return lambda p: pattern.search(p) is not None
    exact = set(attributes)
    if not all(isinstance(a, str) for a in exact):
        raise TypeError("attributes= takes a list of paths or a regex string.")
    return exact.__contains__


def _experiment_sizes(
    experiments: Sequence[str],
    *,
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> dict[str, int]:
    """How many runs each experiment has (for ``naiad experiments``)."""
    with _opened(project, store) as (st, proj):
        q = dataclasses.replace(_query(proj, False, None, None, trashed), experiments=tuple(experiments))
        return st.count_by_experiment(q, time.time())


# -- files -----------------------------------------------------------------------------------------
def download_files(
    runs: Names = None,
    experiments: Names = None,
    attributes: str | Sequence[str] = r".*",
    destination: str | os.PathLike[str] = ".",
    *,
    filter: str | None = None,
    trashed: bool | None = False,
    project: str | None = None,
    store: StoreArg = None,
) -> pd.DataFrame:
    """Write File and FileSeries fields under ``destination/<run or experiment>/<path>``.

    A File is written as its path's last segment plus the original extension; a FileSeries as
    one file per step (``<name>_<step><ext>``). Names are sanitized, so nothing is written
    outside ``destination``. Returns one row per file: experiment|run, path, step, file.

    Example:
        >>> download_files(runs="seabird-3", attributes=r"^checkpoints/", destination="out")  # doctest: +SKIP
    """
    import pandas as pd

    by_run = runs is not None
    if by_run and experiments is not None:
        raise ValueError("Pass experiments= or runs=, not both.")
    wanted = _path_matcher(attributes)
    root = Path(destination)
    kinds = (int(FieldType.FILE), int(FieldType.FILE_SERIES))
    written: list[tuple[str, str, float | None, str]] = []
    with _opened(project, store) as (st, proj):
        q = _query(proj, not by_run, runs if by_run else experiments, filter, trashed)
        chosen = st.select_runs(q, time.time())
        taken: set[Path] = set()  # two paths that sanitize alike ('my model', 'my_model') get two files
        for pk, label in chosen:
            folder = root / safe_filename(label, "")
            for rec in st.fields(pk):
                if rec.type not in kinds or not wanted(rec.path):
                    continue
                *spaces, leaf = rec.path.split("/")
                where = folder.joinpath(*(safe_filename(s, "") for s in spaces))
                if rec.type == FieldType.FILE:
                    meta = decode(rec.type, rec.value)
                    target = unique_path(where / safe_filename(leaf, meta["name"]), taken)
                    write_blob(st.blobs.open(meta["sha256"]), target)
                    written.append((label, rec.path, None, str(target)))
                    continue
                for step, _, value in st.points(pk, rec.path, None):
                    meta = decode(rec.type, value)
                    name = safe_filename(f"{leaf}_{step_text(step)}", meta["name"])
                    target = unique_path(where / name, taken)
                    write_blob(st.blobs.open(meta["sha256"]), target)
                    written.append((label, rec.path, step / STEP_SCALE, str(target)))
    return pd.DataFrame(written, columns=["run" if by_run else "experiment", "path", "step", "file"])
