"""``neptune_scale.projects``: project names and ``create_project`` over a naiad store.

A naiad project exists once a run is written to it, so ``create_project`` checks the name and
returns it: the first ``Run(project=...)`` creates it. ``fail_if_exists=True`` raises when
the store already holds runs in it.
"""

from __future__ import annotations

import re

from .exceptions import NeptuneProjectAlreadyExists, NeptuneProjectInvalidName

__all__ = ["create_project", "extract_workspace_and_project", "list_projects", "normalize_project_name"]

PROJECT_QUALIFIED_NAME_RE = re.compile(r"^((?P<workspace>[\w\-.]+)/)?(?P<project>[\w\-.]+)$")


def extract_workspace_and_project(name: str, workspace: str | None = None) -> tuple[str | None, str]:
    """``("ws", "proj")`` from ``"ws/proj"``, or from ``"proj"`` and ``workspace="ws"``."""
    match = PROJECT_QUALIFIED_NAME_RE.match(name)
    if not match:
        raise NeptuneProjectInvalidName(f"Project name {name!r} is not 'workspace/project' or 'project'.")
    extracted = match.group("workspace")
    if extracted and workspace and extracted != workspace:
        raise ValueError(
            f"The workspace in the project name ({extracted}) differs from workspace={workspace!r}."
        )
    return extracted or workspace, match.group("project")


def normalize_project_name(name: str, workspace: str | None = None) -> str:
    """The project's full name, as ``Run(project=...)`` takes it: ``workspace/project``."""
    ws, project = extract_workspace_and_project(name, workspace)
    return f"{ws}/{project}" if ws else project


def create_project(
    name: str,
    *,
    workspace: str | None = None,
    visibility: str = "priv",
    description: str | None = None,
    key: str | None = None,
    fail_if_exists: bool = False,
    api_token: str | None = None,
) -> str:
    """The project's full name; the first run logged to it creates it in the naiad store.

    ``visibility``, ``description``, ``key`` and ``api_token`` are accepted and unused
    (a naiad store has no access control per project, and ``sys/id`` prefixes come from the
    project name).
    """
    full = normalize_project_name(name, workspace)
    if fail_if_exists and full in list_projects():
        raise NeptuneProjectAlreadyExists(f"Project {full!r} already holds runs in the naiad store.")
    return full


def list_projects(*, api_token: str | None = None) -> list[str]:
    """The projects of naiad's configured store (``NAIAD_STORE``, ...) that hold runs."""
    from .._settings import resolve
    from .._storage import open_store
    from ..errors import StorageError

    settings = resolve({})
    try:
        store = open_store(settings.store, create=False, blobs=settings.blobs)
    except StorageError:
        return []  # no store yet: no projects
    try:
        return sorted(store.projects())
    finally:
        store.close()
