"""The ``sys`` namespace: its paths, who writes each one, and how derived values are computed.

Every module that names a ``sys`` field takes the name from here, so the namespace is
described once. Who writes what:

- at creation (the engine, through the backend's ``open_run``): ``id``, ``custom_run_id``,
  ``name``, ``experiment/*``, ``forking/*``, ``family``, ``creation_time``, ``owner``,
  ``hostname``, ``failed`` (False), ``trashed`` (False), ``size`` (0), ``tags``,
  ``group_tags``, ``description``;
- by the writer with every batch: ``modification_time``, ``size``,
  ``relative_creation_time_ms``; with each heartbeat: ``ping_time``, ``running_time``;
  ``diagnostics/dropped`` and ``diagnostics/storage_fault`` when logging lost or kept data;
- by the lifecycle (uncaught exception, signal, integration): ``failed`` and
  ``diagnostics/{exception,traceback,signal,exit_code}``;
- by the user: only :data:`USER_WRITABLE`; by ``naiad trash``: ``trashed``.

Derived values: ``state`` is ``active`` while a session of the run has a heartbeat younger
than :data:`STALE_AFTER_S` and has not closed, else ``inactive`` (never trusted from the
stored field); the *display* state adds ``failed`` for an inactive run with ``sys/failed``
(:func:`display_state`, used by the CLI and the UI). ``running_time`` is the seconds the run
was active before this process plus this process' own; ``ping_time`` the last heartbeat;
``size`` the bytes of metadata and files stored for the run.

``forking/step`` is stored as the fork step the user gave (an Integer when whole); the
run's ``fork_step`` in the store is fixed point (:data:`naiad._types.STEP_SCALE`), so a
fractional fork step (an importer's 80.5) round-trips there; its field is then a Float.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._storage._records import Assign

if TYPE_CHECKING:
    from ._storage._records import RunSpec

NAMESPACE = "sys"
ID = "sys/id"
CUSTOM_RUN_ID = "sys/custom_run_id"
NAME = "sys/name"
EXPERIMENT_NAME = "sys/experiment/name"
EXPERIMENT_IS_HEAD = "sys/experiment/is_head"
FORKING_PARENT = "sys/forking/parent"
FORKING_REQUESTED_PARENT = "sys/forking/requested_parent"
FORKING_STEP = "sys/forking/step"
FORKING_DEPTH = "sys/forking/depth"
FAMILY = "sys/family"
CREATION_TIME = "sys/creation_time"
MODIFICATION_TIME = "sys/modification_time"
PING_TIME = "sys/ping_time"
RELATIVE_CREATION_TIME_MS = "sys/relative_creation_time_ms"
STATE = "sys/state"
OWNER = "sys/owner"
HOSTNAME = "sys/hostname"
TAGS = "sys/tags"
GROUP_TAGS = "sys/group_tags"
DESCRIPTION = "sys/description"
FAILED = "sys/failed"
TRASHED = "sys/trashed"
SIZE = "sys/size"
RUNNING_TIME = "sys/running_time"
DIAGNOSTICS = "sys/diagnostics"  # the namespace of the run's own health record
DIAGNOSTICS_DROPPED = "sys/diagnostics/dropped"
DIAGNOSTICS_STORAGE_FAULT = "sys/diagnostics/storage_fault"
DIAGNOSTICS_EXCEPTION = "sys/diagnostics/exception"  # the exception's message
DIAGNOSTICS_TRACEBACK = "sys/diagnostics/traceback"  # the full traceback text
DIAGNOSTICS_SIGNAL = "sys/diagnostics/signal"  # name of the signal that ended the process
DIAGNOSTICS_EXIT_CODE = "sys/diagnostics/exit_code"
DIAGNOSTICS_FAILED_PROCESS = "sys/diagnostics/failed_process"  # label of the rank that failed

# sys/name is the run's display name (Neptune 1.x scripts rename runs); the experiment a run
# belongs to is sys/experiment/name, fixed at creation
USER_WRITABLE = frozenset({NAME, TAGS, GROUP_TAGS, DESCRIPTION})
# what a fork copies from its parent along with the user's atoms (inherit_configs)
INHERITED = (TAGS, GROUP_TAGS, DESCRIPTION)
# what ``naiad sync`` carries from a journal run as it is
CARRIED_BY_SYNC = (
    NAME,
    TAGS,
    GROUP_TAGS,
    DESCRIPTION,
    FAILED,
    RUNNING_TIME,
    MODIFICATION_TIME,
    PING_TIME,
    RELATIVE_CREATION_TIME_MS,
    SIZE,
)

STALE_AFTER_S = 20.0  # a session with no heartbeat for this long is not attached any more
ACTIVE, INACTIVE, FAILED_STATE = "active", "inactive", "failed"
STATES = (ACTIVE, INACTIVE)


def is_sys(path: str) -> bool:
    """Whether ``path`` is in the ``sys`` namespace (or is the namespace itself)."""
    return path == NAMESPACE or path.startswith(NAMESPACE + "/")


def live_window(now: float) -> list[float]:
    """The pings that prove a session alive at ``now``: within ``STALE_AFTER_S`` either side.

    A ping further ahead is no evidence: the writer's clock ran ahead of the reader's (stepped
    forward, then the process was killed), and trusting it would show a dead run active until
    the reader's clock caught up.
    """
    return [now - STALE_AFTER_S, now + STALE_AFTER_S]


def session_attached(last_ping: float, closed: bool, now: float) -> bool:
    """Whether a session keeps its run active at ``now`` (see :func:`live_window`)."""
    low, high = live_window(now)
    return not closed and low < last_ping < high


def state(attached: bool) -> str:
    """``sys/state`` from whether any session is attached."""
    return ACTIVE if attached else INACTIVE


def display_state(state_value: Any, failed: Any) -> str | None:
    """The state the CLI and the UI show: ``failed`` for an inactive run with ``sys/failed``."""
    if state_value is None:
        return None
    if state_value == INACTIVE and failed is True:
        return FAILED_STATE
    return str(state_value)


def running_time(base: float, started: float, now: float) -> float:
    """Seconds active: before this process (``base``) plus since it attached (``started``)."""
    return base + (now - started)


def relative_creation_ms(last_point_ts: float, created: float) -> int:
    """``sys/relative_creation_time_ms``: ms from creation to the last metric point."""
    return max(0, round((last_point_ts - created) * 1000))


def creation_atoms(
    spec: RunSpec,
    *,
    sys_id: str,
    depth: int,
    family: str,
    parent_custom_id: str | None,
    inherited_tags: Iterable[str] = (),
) -> list[Assign]:
    """The ``sys`` fields a new run starts with: the engine's rule, applied by each backend
    inside the transaction that creates the run (after its "next counter", "claim head" and
    "copy the parent's configs" primitives)."""
    from ._types import FieldType, epoch_micros

    S, I, B, D = FieldType.STRING, FieldType.INTEGER, FieldType.BOOLEAN, FieldType.DATETIME  # noqa: N806, E741 - a table of rows reads best with one-letter types
    micros = epoch_micros(spec.creation_time)
    rows: list[tuple[str, int, Any]] = [
        (ID, S, sys_id),
        (CUSTOM_RUN_ID, S, spec.custom_id),
        (CREATION_TIME, D, micros),
        (MODIFICATION_TIME, D, micros),
        (PING_TIME, D, micros),
        (OWNER, S, spec.owner),
        (HOSTNAME, S, spec.hostname),
        (FAILED, B, False),
        (TRASHED, B, False),
        (SIZE, I, 0),
        (RUNNING_TIME, FieldType.FLOAT, 0.0),
        (STATE, S, ACTIVE),
        (FORKING_DEPTH, I, depth),
        (FAMILY, S, family),
    ]
    if spec.experiment is not None:
        rows += [
            (NAME, S, spec.experiment),
            (EXPERIMENT_NAME, S, spec.experiment),
            (EXPERIMENT_IS_HEAD, B, True),
        ]
    if spec.fork_parent is not None:
        step = spec.fork_step
        if step is not None and type(step) is not int:  # a fractional fork stays a Float
            step = int(step) if float(step).is_integer() else float(step)
        kind = FieldType.FLOAT if isinstance(step, float) else I
        rows += [(FORKING_REQUESTED_PARENT, S, spec.fork_parent), (FORKING_STEP, kind, step)]
        if parent_custom_id is not None:
            rows.append((FORKING_PARENT, S, parent_custom_id))
    tags = set(spec.tags) | set(inherited_tags)
    rows.append((TAGS, FieldType.STRING_SET, json.dumps(sorted(tags))))
    if spec.description is not None:
        rows.append((DESCRIPTION, S, spec.description))
    return [Assign(path, int(ftype), value) for path, ftype, value in rows]
