"""Named saved views: a name and the page address (filter, columns, sort, runs, charts options)
kept in the store, per project, so everyone who opens the store sees them.

They live in ``<store>/ui/views.json`` beside the database (written whole to a temporary file
and renamed, so a reader never sees half a file). A view is only an address inside the app:
it is never evaluated, and the page checks it starts with ``#/``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import NaiadError

MAX_VIEWS = 200
MAX_NAME, MAX_URL = 120, 8000
_lock = threading.Lock()


class ViewError(NaiadError, ValueError):
    """A saved view that cannot be stored (bad name or address)."""


def _file(root: Path | None) -> Path:
    if root is None:
        raise ViewError("Saved views need a directory store; this store has no directory.")
    return Path(root) / "ui" / "views.json"


def _load(root: Path | None) -> dict[str, dict[str, dict[str, Any]]]:
    try:
        data = json.loads(_file(root).read_text("utf-8"))
    except (FileNotFoundError, ValueError, ViewError):
        return {}
    return data if isinstance(data, dict) else {}


def list_views(root: Path | None, project: str) -> list[dict[str, Any]]:
    """The project's saved views, newest first."""
    views = _load(root).get(project, {})
    return sorted(
        ({"name": n, **v} for n, v in views.items() if isinstance(v, dict)),
        key=lambda v: -float(v.get("saved", 0)),
    )


def save_view(root: Path | None, project: str, name: str, url: str | None) -> list[dict[str, Any]]:
    """Save (or, with ``url=None``, delete) a named view; returns the project's views."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ViewError(f"A view needs a name of 1 to {MAX_NAME} characters; got {len(name)}.")
    if url is not None and (not url.startswith("#/") or len(url) > MAX_URL):
        raise ViewError(f"A view's address must start with '#/' and be at most {MAX_URL} characters.")
    with _lock:
        data = _load(root)
        views = data.setdefault(project, {})
        if url is None:
            views.pop(name, None)
        else:
            if name not in views and len(views) >= MAX_VIEWS:
                raise ViewError(f"Project '{project}' has {MAX_VIEWS} saved views: delete one first.")
            views[name] = {"url": url, "saved": time.time()}
        target = _file(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".views-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    return list_views(root, project)
