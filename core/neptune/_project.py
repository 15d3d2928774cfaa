"""``neptune.init_project``: a project's runs table and its own fields, as Neptune 1.x's ``Project``.

The runs table maps onto :func:`naiad.query.fetch_runs_table`. A naiad project has no fields
of its own, so project-level fields (``project["general/brief"] = ...``) live in one run of
the project, custom run id :data:`PROJECT_RUN_ID`, opened on the first field access. That run
is left out of the layer's runs tables (naiad's own ``naiad ls`` and UI show it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import _sys as sysf
from .. import query
from ..errors import FieldNotFound, RunNotFound
from ._handle import Handle, neptune_state

if TYPE_CHECKING:
    import pandas as pd

    from ._run import Run

__all__ = ["PROJECT_RUN_ID", "Project", "Table", "init_project", "neptune_project", "quoted", "runs_table"]

PROJECT_RUN_ID = "__project__"  # the run that holds a project's own fields


def quoted(text: str) -> str:
    """``text`` as a double-quoted string of naiad's filter grammar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def neptune_project(project: str | None) -> str | None:
    """The project a Neptune call names, else ``NEPTUNE_PROJECT``, else naiad's own setting (None)."""
    return project or os.environ.get("NEPTUNE_PROJECT") or None


def _listed(value: str | Iterable[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


class Table:
    """What ``fetch_runs_table`` returns: ``to_pandas()`` gives the DataFrame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def to_pandas(self) -> pd.DataFrame:
        """One row per run (a plain 0..n index), one column per path, ``sys/id`` among them."""
        return self._frame.copy()


class Project:
    """A naiad project opened with Neptune 1.x's ``init_project``.

    Example:
        >>> project = neptune.init_project(project="team/seabird", mode="read-only")  # doctest: +SKIP
        >>> project.fetch_runs_table(tag="baseline").to_pandas()  # doctest: +SKIP
    """

    def __init__(
        self,
        project: str | None = None,
        *,
        api_token: str | None = None,
        mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._project = neptune_project(project)
        self._mode = mode
        self._run: Run | None = None

    # -- project-level fields: one run of the project holds them ---------------------------------
    def _fields(self) -> Run:
        if self._run is None:
            from .. import Run as NaiadRun
            from ._run import MODES, Run

            off = False  # the project's run records no console, monitoring or source of its own
            naiad = NaiadRun(
                run_id=PROJECT_RUN_ID,
                project=self._project,
                mode=None if self._mode is None else MODES[self._mode],
                on_error="raise",
                capture_stdout=off,
                capture_stderr=off,
                capture_hardware_metrics=off,
                capture_traceback=off,
                capture_source=off,
                capture_environment=off,
            )
            self._run = Run.wrapping(naiad)
        return self._run

    def _stored(self, path: str | None = None) -> Run | None:
        """The project's run for reading; None when a read-only project has none yet (no field
        was ever written), unless ``path`` is asked for: then that field is not found."""
        try:
            return self._fields()
        except RunNotFound:
            if self._mode != "read-only":
                raise
            if path is None:
                return None
            raise FieldNotFound(
                f"Project '{self._project}' has no field '{path}': no field of the project was written yet."
            ) from None

    def __getitem__(self, path: str) -> Handle:
        run = self._stored(path)
        assert run is not None
        return run[path]

    def __setitem__(self, path: str, value: Any) -> None:
        self._fields()[path] = value

    def __delitem__(self, path: str) -> None:
        del self._fields()[path]

    def __contains__(self, path: str) -> bool:
        return self.exists(path)

    def exists(self, path: str) -> bool:
        run = self._stored()
        return run is not None and run.exists(path)

    def fetch(self) -> dict[str, Any]:
        """The project's fields as a nested dict (its run's ``sys`` left out)."""
        run = self._stored()
        data = {} if run is None else run.fetch()
        data.pop(sysf.NAMESPACE, None)
        return data

    def get_structure(self) -> dict[str, Any]:
        run = self._stored()
        structure = {} if run is None else run.get_structure()
        structure.pop(sysf.NAMESPACE, None)
        return structure

    def wait(self, disk_only: bool = False) -> None:
        if self._run is not None:
            self._run.wait()

    def sync(self, wait: bool = True) -> None:
        self.wait()

    def get_url(self) -> str:
        """The ``naiad ui`` page of the run that holds the project's fields."""
        return self._fields().get_url()

    def fetch_runs_table(
        self,
        *,
        id: str | Iterable[str] | None = None,
        state: str | Iterable[str] | None = None,
        owner: str | Iterable[str] | None = None,
        tag: str | Iterable[str] | None = None,
        columns: Iterable[str] | None = None,
        trashed: bool | None = False,
        limit: int | None = None,
        sort_by: str = sysf.CREATION_TIME,
        ascending: bool = False,
        **kwargs: Any,
    ) -> Table:
        """The runs matching every given condition (ids, states and owners: any of; tags: all of)."""
        conditions = []
        for path, values in ((sysf.ID, id), (sysf.STATE, state), (sysf.OWNER, owner)):
            wanted = [v.lower() if path == sysf.STATE else v for v in _listed(values)]
            if wanted:
                conditions.append("(" + " or ".join(f"{path} == {quoted(v)}" for v in wanted) + ")")
        conditions += [f"{sysf.TAGS} contains {quoted(t)}" for t in _listed(tag)]
        return runs_table(
            self._project,
            conditions,
            columns,
            trashed=trashed,
            limit=limit,
            sort_by=sort_by,
            ascending=ascending,
        )

    def stop(self, seconds: float | None = None) -> None:
        """Write what is queued to the project's fields and close them."""
        if self._run is not None:
            self._run.stop(seconds)

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def runs_table(
    project: str | None,
    conditions: list[str],
    columns: Iterable[str] | None,
    *,
    trashed: bool | None = False,
    limit: int | None = None,
    sort_by: str = sysf.CREATION_TIME,
    ascending: bool = False,
) -> Table:
    """The runs matching every condition (naiad filter text) as Neptune's table, ``sys/id`` first."""
    attributes = None if columns is None else [sysf.ID, *(c for c in columns if c != sysf.ID)]
    conditions = [*conditions, f"{sysf.CUSTOM_RUN_ID} != {quoted(PROJECT_RUN_ID)}"]
    frame = query.fetch_runs_table(
        filter=" and ".join(conditions),
        attributes=attributes,
        sort_by=sort_by,
        ascending=ascending,
        limit=limit,
        trashed=trashed,
        project=project,
    )
    if attributes is None:  # naiad's default columns, and the id every Neptune table had
        ids = query.fetch_runs_table(list(frame.index), attributes=[sysf.ID], project=project)
        frame.insert(0, sysf.ID, ids[sysf.ID].reindex(frame.index))
    if sysf.STATE in frame.columns:
        frame[sysf.STATE] = frame[sysf.STATE].map(neptune_state)
    return Table(frame.reset_index(drop=True))


def init_project(project: str | None = None, **kwargs: Any) -> Project:
    """Open a project (``NEPTUNE_PROJECT`` when not given) for its runs table."""
    return Project(project, **kwargs)
