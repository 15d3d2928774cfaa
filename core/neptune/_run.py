"""``neptune.init_run`` / ``neptune.Run`` over :class:`naiad.Run`: Neptune 1.x's run object.

A thin mapping: one :class:`naiad.Run` (strict core) underneath, Neptune's lenient policy in
:mod:`naiad.neptune._values`, Neptune's handle in :mod:`naiad.neptune._handle`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

from .. import Run as NaiadRun
from .. import RunNotFound, query
from .. import _sys as sysf
from ..neptune_scale._run import UI_URL
from ._handle import Handle, neptune_state
from ._project import neptune_project, quoted
from .types import GitRef

__all__ = ["MODES", "Run", "init_run"]

# Neptune 1.x's modes → naiad's; ``debug`` stored nothing in Neptune, naiad's ``disabled`` neither
MODES = {
    "async": "async",
    "sync": "sync",
    "offline": "offline",
    "debug": "disabled",
    "read-only": "read-only",
}


def _resolve_id(with_id: str, project: str | None) -> str:
    """The naiad run id of Neptune's ``with_id``: a ``sys/id`` (``SEA-12``) or a custom run id."""
    for condition in (f"{sysf.ID} == {quoted(with_id)}", f"{sysf.CUSTOM_RUN_ID} == {quoted(with_id)}"):
        found = query.list_runs(filter=condition, project=project)
        if found:
            return found[0]
    raise RunNotFound(
        f"No run with id '{with_id}' in project '{project or 'default'}' (looked up by sys/id and by "
        "custom run id). Check the id, NEPTUNE_PROJECT, and NAIAD_STORE."
    )


class Run:
    """A Neptune 1.x run whose data goes to the naiad store (what :func:`init_run` returns).

    Every argument of ``neptune.init_run`` is accepted. ``project`` (or ``NEPTUNE_PROJECT``)
    names the naiad project; ``with_id`` reopens a run by ``sys/id`` or custom run id;
    ``custom_run_id`` (or ``NEPTUNE_CUSTOM_RUN_ID``) is naiad's run id; ``name`` is
    ``sys/name``; ``mode`` (or ``NEPTUNE_MODE``) is ``async``, ``sync``, ``offline``,
    ``debug`` (nothing stored) or ``read-only``. ``api_token`` is ignored; the store is
    naiad's (``NAIAD_STORE``). ``source_files`` and git facts go to ``source_code/`` (off
    with ``source_files=[]`` and ``git_ref=False``); ``dependencies`` turns on naiad's
    ``environment/`` capture. Accepted and not honoured: ``flush_period``, ``proxies``,
    ``monitoring_namespace`` (monitoring is ``monitoring/<process>/``), ``fail_on_exception``.

    Example:
        >>> import naiad.neptune as neptune
        >>> run = neptune.init_run(project="team/seabird", tags=["baseline"])  # doctest: +SKIP
        >>> run["parameters"] = {"lr": 0.01}  # doctest: +SKIP
        >>> run.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        with_id: str | None = None,
        *,
        project: str | None = None,
        api_token: str | None = None,
        custom_run_id: str | None = None,
        mode: str | None = None,
        name: str | None = None,
        description: str | None = None,
        tags: str | Iterable[str] | None = None,
        source_files: str | Iterable[str] | None = None,
        capture_stdout: bool | None = None,
        capture_stderr: bool | None = None,
        capture_hardware_metrics: bool | None = None,
        capture_traceback: bool | None = None,
        git_ref: Any = None,
        dependencies: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        mode = mode or os.environ.get("NEPTUNE_MODE") or None
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (was {mode!r})")
        project = neptune_project(project)
        run_id = custom_run_id or os.environ.get("NEPTUNE_CUSTOM_RUN_ID") or None
        if with_id is not None:
            run_id = _resolve_id(with_id, project)
        elif mode == "read-only":
            raise ValueError("mode='read-only' opens an existing run: pass with_id='...'")
        self._naiad = NaiadRun(
            experiment_name=name,
            run_id=run_id,
            project=project,
            mode=None if mode is None else MODES[mode],
            tags=[tags] if isinstance(tags, str) else (tags or ()),
            description=description,
            on_error="raise",  # the layer applies Neptune's policy itself
            capture_stdout=capture_stdout,
            capture_stderr=capture_stderr,
            capture_hardware_metrics=capture_hardware_metrics,
            capture_traceback=capture_traceback,
            source_files=[source_files] if isinstance(source_files, str) else source_files,
            # Neptune uploaded the entry script and git facts unless told not to
            capture_source=not (source_files == [] and (git_ref is False or git_ref is GitRef.DISABLED)),
            capture_environment=True if dependencies is not None else None,
        )

    @classmethod
    def wrapping(cls, naiad_run: NaiadRun) -> Run:
        """A Neptune-style view of an open :class:`naiad.Run` (what an integration hands a user)."""
        run = cls.__new__(cls)
        run._naiad = naiad_run
        return run

    @property
    def naiad_run(self) -> NaiadRun:
        """The :class:`naiad.Run` underneath, for naiad's own API."""
        return self._naiad

    # -- paths ------------------------------------------------------------------------------------
    def __getitem__(self, path: str) -> Handle:
        return Handle(self, path)

    def __setitem__(self, path: str, value: Any) -> None:
        Handle(self, path).assign(value)

    def __delitem__(self, path: str) -> None:
        Handle(self, path).pop()

    def __contains__(self, path: str) -> bool:
        return self.exists(path)

    def assign(self, value: Mapping[str, Any], wait: bool = False) -> None:
        """Assign a nested dict at the root, each value on its own."""
        for key, sub in value.items():
            Handle(self, str(key)).assign(sub)
        if wait:
            self.wait()

    def pop(self, path: str, wait: bool = False) -> None:
        Handle(self, path).pop()

    def exists(self, path: str) -> bool:
        return self._naiad.exists(path.strip("/"))

    def fetch(self) -> dict[str, Any]:
        """Every value of the run as a nested dict (series: their last value)."""
        data = self._naiad.fetch()
        sys_ns = data.get("sys")
        if isinstance(sys_ns, dict) and "state" in sys_ns:
            sys_ns["state"] = neptune_state(sys_ns["state"])
        return data

    def get_structure(self) -> dict[str, Any]:
        """The run's namespaces and field types, as a nested dict."""
        return self._naiad.get_structure()

    def print_structure(self) -> None:
        """Print the tree of namespaces and fields, one per line, indented."""

        def show(tree: Mapping[str, Any], depth: int) -> None:
            for key in sorted(tree):
                sub = tree[key]
                if isinstance(sub, Mapping):
                    print(f"{'    ' * depth}'{key}':")
                    show(sub, depth + 1)
                else:
                    print(f"{'    ' * depth}'{key}': {sub}")

        show(self.get_structure(), 0)

    def get_root_object(self) -> Run:
        return self

    def get_url(self) -> str:
        """The run's page in ``naiad ui`` (started with the same store and project)."""
        return f"{UI_URL}#/run/{quote(self._naiad.run_id, safe='')}"

    # -- waiting and ending ---------------------------------------------------------------------
    def wait(self, disk_only: bool = False) -> None:
        """Block until everything logged so far is in the store."""
        if not self._naiad.closed:
            self._naiad.wait()

    def sync(self, wait: bool = True) -> None:
        """The same as :meth:`wait`: the local store is the source of truth."""
        self.wait()

    def stop(self, seconds: float | None = None) -> None:
        """Write what is queued and mark the run inactive."""
        self._naiad.close(seconds)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._naiad.__exit__(exc_type, exc_value, traceback)  # an exception marks sys/failed

    def __repr__(self) -> str:
        return f"<naiad.neptune.Run {self._naiad.run_id!r} ({self._naiad.sys_id})>"


def init_run(with_id: str | None = None, **kwargs: Any) -> Run:
    """Start a run, or reopen one with ``with_id`` (see :class:`Run` for the arguments)."""
    return Run(with_id, **kwargs)
