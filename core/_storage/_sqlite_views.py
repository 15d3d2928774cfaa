"""The embedded store's saved UI views: rows of the ``views`` table, and the one-time import of
the ``ui/views.json`` file that schema-1 stores kept beside the database.

The import runs inside the migration's transaction, so a store either has its old views as
rows and schema version 2, or neither. The file itself is left where it was (nothing is
lost if the import is ever doubted); naiad no longer reads it afterwards.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

from ._records import SavedView

LEGACY_FILE = Path("ui") / "views.json"


def views(conn: sqlite3.Connection, project: str | None) -> list[SavedView]:
    """The saved views of ``project`` (every project when None), by project and name."""
    sql = "SELECT project, name, url, saved FROM views"
    rows = (
        conn.execute(sql + " ORDER BY project, name")
        if project is None
        else conn.execute(sql + " WHERE project=? ORDER BY name", (project,))
    )
    return [SavedView(str(p), str(n), str(u), float(s)) for p, n, u, s in rows]


def save(conn: sqlite3.Connection, view: SavedView) -> None:
    conn.execute(
        "INSERT INTO views(project, name, url, saved) VALUES(?,?,?,?) "
        "ON CONFLICT(project, name) DO UPDATE SET url=excluded.url, saved=excluded.saved",
        (view.project, view.name, view.url, view.saved),
    )


def delete(conn: sqlite3.Connection, project: str, name: str) -> bool:
    return conn.execute("DELETE FROM views WHERE project=? AND name=?", (project, name)).rowcount > 0


def import_legacy(conn: sqlite3.Connection, root: Path) -> int:
    """Insert the views of ``<root>/ui/views.json`` (``{project: {name: {url, saved}}}``);
    entries that are not a name with an address are skipped. Returns how many came in."""
    try:
        data = json.loads((root / LEGACY_FILE).read_text("utf-8"))
    except (OSError, ValueError):  # no file (the usual case), or one nobody could have read either
        return 0
    if not isinstance(data, dict):
        return 0
    count = 0
    for project, named in data.items():
        if not isinstance(project, str) or not isinstance(named, dict):
            continue
        for name, entry in named.items():
            if (
                not isinstance(name, str)
                or not isinstance(entry, dict)
                or not isinstance(entry.get("url"), str)
            ):
                continue
            saved = entry.get("saved", 0.0)
            saved = float(saved) if isinstance(saved, (int, float)) and math.isfinite(saved) else 0.0
            save(conn, SavedView(project, name, entry["url"], saved))
            count += 1
    return count
