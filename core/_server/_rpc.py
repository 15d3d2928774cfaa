"""The store seam as remote calls: which Protocol methods a client may call, the right each
needs on which project, and the call itself (arguments checked against the Protocol's hints).

Only the methods in :data:`METHODS` are callable; ``write_batch`` has its own endpoint
(:func:`write_batch`) because it carries the (writer, sequence) pair that makes it apply
once. Handle-level methods (``check_alive``, ``reopen``, ``close``) are the client's own.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .._storage import RunStore
from .._storage import _postgres_server as tables
from .._storage._postgres import PostgresStore
from .._storage._protocol import RunStore as Protocol
from .._storage._records import Heartbeat, Op
from .._storage._wire import WireError, conforms, hints_of
from ..errors import AccessDenied, StorageError
from ._auth import ALL_PROJECTS, Caller

Scope = Callable[[Mapping[str, Any]], list[tuple[str, Any]]]  # → [(kind, key)] to check


@dataclasses.dataclass(frozen=True)
class Method:
    """A callable Protocol method: the right it needs, and where its project comes from."""

    level: str  # "read" | "write"
    scope: str  # the argument naming the project / run / runs / session / selection / spec
    kind: str  # "project" | "run" | "runs" | "session" | "selection" | "spec" | "all" | "filter"


METHODS: dict[str, Method] = {
    "open_run": Method("write", "spec", "spec"),
    "find_run": Method("read", "project", "project"),
    "find_run_by_sys_id": Method("read", "project", "project"),
    "get_run": Method("read", "pk", "run"),
    "children": Method("read", "run_pk", "run"),
    "iter_runs": Method("read", "project", "filter"),
    "projects": Method("read", "", "filter"),
    "open_session": Method("write", "run_pk", "run"),
    "ping": Method("write", "session", "session"),
    "run_state": Method("read", "run_pk", "run"),
    "active_runs": Method("read", "run_pks", "runs"),
    "fields": Method("read", "run_pk", "run"),
    "field": Method("read", "run_pk", "run"),
    "field_rows": Method("read", "run_pks", "runs"),
    "series_extremes": Method("read", "run_pks", "runs"),
    "chunks": Method("read", "run_pk", "run"),
    "chunk_summaries": Method("read", "run_pk", "run"),
    "points": Method("read", "run_pk", "run"),
    "text_chunks": Method("read", "run_pk", "run"),
    "last_point_before": Method("read", "run_pk", "run"),
    "select_runs": Method("read", "selection", "selection"),
    "count_runs": Method("read", "selection", "selection"),
    "count_by_experiment": Method("read", "selection", "selection"),
    "stats": Method("read", "", "all"),
    "views": Method("read", "project", "filter"),
    "save_view": Method("write", "view", "spec"),
    "delete_view": Method("write", "project", "project"),
}
# wait_for_changes has its own endpoint: it waits on the server's one listening handle, never
# holding a pooled connection
_HINTS = {name: hints_of(getattr(Protocol, name)) for name in (*METHODS, "write_batch")}
_NO_DEFAULT = object()


def _defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    import inspect

    return {
        p.name: (_NO_DEFAULT if p.default is inspect.Parameter.empty else p.default)
        for p in list(inspect.signature(fn).parameters.values())[1:]
    }


_REQUIRED = {
    name: {p for p, d in _defaults(getattr(Protocol, name)).items() if d is _NO_DEFAULT}
    for name in (*METHODS, "write_batch")
}


class Projects:
    """Which project a run or a session belongs to (a run never changes project: cached)."""

    def __init__(self) -> None:
        self._runs: dict[int, str] = {}
        self._sessions: dict[int, int] = {}
        self._lock = threading.Lock()

    def of_run(self, store: PostgresStore, pk: int) -> str:
        project = self._runs.get(pk)
        if project is None:
            project = store.get_run(pk).project
            with self._lock:
                self._runs[pk] = project
        return project

    def of_session(self, store: PostgresStore, session: int) -> str:
        run = self._sessions.get(session)
        if run is None:
            run = tables.session_run(store, session)
            if run is None:
                raise StorageError(f"No session {session} in the store.")
            with self._lock:
                self._sessions[session] = run
        return self.of_run(store, run)


def arguments(method: str, raw: Any) -> dict[str, Any]:
    """The decoded arguments of a call, checked against the Protocol method's hints."""
    if not isinstance(raw, dict):
        raise WireError(f"{method}: the arguments must be an object of named values")
    hints = _HINTS[method]
    unknown = set(raw) - set(hints) | ({"patience", "cancel"} & set(raw))
    if unknown:
        raise WireError(f"{method} takes no argument {sorted(unknown)[0]!r}")
    missing = _REQUIRED[method] - set(raw)
    if missing:
        raise WireError(f"{method} needs the argument {sorted(missing)[0]!r}")
    for name, value in raw.items():
        if not conforms(value, hints[name]):
            raise WireError(f"{method}: argument {name!r} is not of type {hints[name]}")
    return raw


def call(store: PostgresStore, projects: Projects, caller: Caller, method: str, raw: Any) -> Any:
    """Check the caller's right, then call ``method`` on the store."""
    spec = METHODS.get(method)
    if spec is None:
        raise WireError(f"{method!r} is not a store call this server answers")
    args = arguments(method, raw)
    for project in _projects(store, projects, spec, args):
        caller.check(project, spec.level)
    seam: RunStore = store
    result = getattr(seam, method)(**args)
    if spec.kind == "filter":
        if method == "projects":
            return [p for p in result if caller.may(p, "read")]
        return [r for r in result if caller.may(r.project, "read")]  # runs or saved views
    return result


def _projects(store: PostgresStore, projects: Projects, spec: Method, args: Mapping[str, Any]) -> list[str]:
    value: Any = args.get(spec.scope)
    if spec.kind == "project":
        return [value]
    if spec.kind in ("spec", "selection"):
        return [value.project]
    if spec.kind == "run":
        return [projects.of_run(store, value)]
    if spec.kind == "runs":
        return sorted({projects.of_run(store, pk) for pk in value})
    if spec.kind == "session":
        return [projects.of_session(store, value)]
    if spec.kind == "all":
        return [ALL_PROJECTS]
    return [value] if value is not None else []  # "filter": the answer is filtered instead


def write_batch(store: PostgresStore, projects: Projects, caller: Caller, raw: Any) -> tuple[list[str], bool]:
    """Apply one batch once: (warnings, whether it was applied now rather than before)."""
    if not isinstance(raw, dict):
        raise WireError("a batch must be an object")
    writer, seq = raw.pop("writer", None), raw.pop("seq", None)
    if not isinstance(writer, str) or not 8 <= len(writer) <= 64 or not isinstance(seq, int):
        raise WireError("a batch carries its writer (8-64 characters) and seq (an integer)")
    args = arguments("write_batch", raw)
    run_pk: int = args["run_pk"]
    ops: list[Op] = list(args["ops"])
    heartbeat: Heartbeat | None = args.get("heartbeat")
    project = projects.of_run(store, run_pk)
    caller.check(project, "write")
    if heartbeat is not None and projects.of_session(store, heartbeat.session) != project:
        raise AccessDenied(f"Session {heartbeat.session} is not a session of this run.", status=403)
    warnings = tables.write_batch_once(store, writer, seq, run_pk, ops, heartbeat)
    return (warnings or []), warnings is not None


class CheckedStore:
    """The store as one caller may see it: every Protocol call goes through :func:`call`, so
    the web UI's reads are checked exactly as the API's are (and filtered the same way)."""

    def __init__(self, store: PostgresStore, projects: Projects, caller: Caller) -> None:
        self._store, self._projects, self._caller = store, projects, caller
        self.uri = store.uri
        self.root = None
        self.blobs = store.blobs

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in METHODS:
            raise AttributeError(name)
        signature = _SIGNATURES[name]

        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(None, *args, **kwargs)
            named = dict(bound.arguments)
            named.pop("self")
            result = call(self._store, self._projects, self._caller, name, named)
            return iter(result) if name == "iter_runs" else result

        return checked

    def check_alive(self) -> None:
        """Nothing to check: the pool's handle is alive while the request holds it."""

    def close(self) -> None:
        """The handle goes back to the pool; nothing to close."""


def _signature(name: str) -> Any:
    import inspect

    return inspect.signature(getattr(Protocol, name))


_SIGNATURES = {name: _signature(name) for name in METHODS}
