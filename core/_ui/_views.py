"""Named saved views: a name and the page address (filter, columns, sort, runs, charts options)
kept in the store, per project, so everyone who opens the store sees them.

They are rows of the store's saved views (:meth:`naiad._storage.RunStore.views`), on every
backend alike; a store of schema 1 brings its old ``ui/views.json`` along when it migrates.
A view is only an address inside the app: it is never evaluated, and the page checks it
starts with ``#/``.
"""

from __future__ import annotations

import time
from typing import Any

from .._storage import RunStore, SavedView
from ..errors import NaiadError

MAX_VIEWS = 200
MAX_NAME, MAX_URL = 120, 8000


class ViewError(NaiadError, ValueError):
    """A saved view that cannot be stored (bad name or address)."""


def list_views(store: RunStore, project: str) -> list[dict[str, Any]]:
    """The project's saved views, newest first."""
    views = sorted(store.views(project), key=lambda v: -v.saved)
    return [{"name": v.name, "url": v.url, "saved": v.saved} for v in views]


def save_view(store: RunStore, project: str, name: str, url: str | None) -> list[dict[str, Any]]:
    """Save (or, with ``url=None``, delete) a named view; returns the project's views."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ViewError(f"A view needs a name of 1 to {MAX_NAME} characters; got {len(name)}.")
    if url is not None and (not url.startswith("#/") or len(url) > MAX_URL):
        raise ViewError(f"A view's address must start with '#/' and be at most {MAX_URL} characters.")
    if url is None:
        store.delete_view(project, name)
    else:
        names = {v.name for v in store.views(project)}
        if name not in names and len(names) >= MAX_VIEWS:
            raise ViewError(f"Project '{project}' has {MAX_VIEWS} saved views: delete one first.")
        store.save_view(SavedView(project, name, url, time.time()))
    return list_views(store, project)
