"""Opening a run: which store it writes to, and whether a resume or a fork is consistent.

``naiad.Run.__init__`` resolves the settings, then calls these: an offline run writes into
its own journal (``<store>/offline/<project>--<run_id>.naiad-journal``, or
``./.naiad/offline/…`` for a server store); every other mode
opens the store named by the settings through :func:`naiad._storage.open_store`.
"""

from __future__ import annotations

import platform

from . import _sys
from ._settings import Settings
from ._storage import RunRecord, RunSpec, RunStore, journal_dir, open_journal, open_store
from ._types import STEP_SCALE, check_string, fixed_step
from .errors import RunNotFound


def fork_step_of(fork_run_id: str | None, fork_step: int | float | None) -> int | None:
    """The fork step as a whole number of steps, after checking the pair is complete."""
    if (fork_run_id is None) != (fork_step is None):
        raise ValueError("Pass both fork_run_id and fork_step to fork a run, or neither.")
    if fork_step is None:
        return None
    fork_fixed = fixed_step("fork_step", fork_step)
    if fork_fixed % STEP_SCALE:
        raise ValueError(f"fork_step must be a whole number of steps; got {fork_step!r}.")
    return fork_fixed // STEP_SCALE


def store_for(settings: Settings, custom_id: str) -> RunStore:
    """The store a run in ``settings.mode`` writes to (or reads from)."""
    location = settings.store
    if settings.mode == "offline":
        name = f"{settings.project}--{custom_id}.naiad-journal"
        return open_journal(journal_dir(location) / _safe(name))
    return open_store(
        location, create=settings.mode != "read-only", blobs=settings.blobs, token=settings.token
    )


def run_spec(
    settings: Settings,
    custom_id: str,
    fork: tuple[str | None, int | None],
    created: float,
    tags: list[str],
    description: str | None,
    inherit_configs: bool,
) -> RunSpec:
    """What the store creates (or finds) for this run: ids, lineage and the initial ``sys``."""
    return RunSpec(
        project=settings.project,
        custom_id=custom_id,
        experiment=settings.experiment_name,
        fork_parent=fork[0],
        fork_step=fork[1],
        creation_time=created,
        owner=settings.owner,
        hostname=platform.node(),
        tags=tuple(tags),
        description=None if description is None else check_string(_sys.DESCRIPTION, description),
        inherit_configs=inherit_configs,
        allow_missing_parent=settings.mode == "offline",
    )


def existing(store: RunStore, project: str, custom_id: str) -> RunRecord:
    """The run a reader opens; RunNotFound (and the store closed) when there is none."""
    record = store.find_run(project, custom_id)
    if record is None:
        store.close()
        raise RunNotFound(f"No run '{custom_id}' in project '{project}' of the store at {store.uri}.")
    return record


def check_resume(store: RunStore, rec: RunRecord, fork_run_id: str | None, fork_step: int | None) -> None:
    """Refuse to resume an existing run with fork arguments that contradict its lineage."""
    parent = None if rec.parent_pk is None else store.get_run(rec.parent_pk).custom_id
    have_step = None if rec.fork_step is None else rec.fork_step // STEP_SCALE
    if fork_run_id is not None and (fork_run_id, fork_step) != (parent, have_step):
        raise ValueError(
            f"Run '{rec.custom_id}' exists, forked from {parent!r} at step {have_step!r}; "
            f"cannot resume it with fork_run_id={fork_run_id!r}, fork_step={fork_step!r}. "
            "Drop the fork arguments to resume it, or pick a new run_id to fork again."
        )


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
