"""The SQLite schema, its version, and the ordered migrations that reach it.

Float series are stored as chunks (int64 steps, float64 values, float64 timestamps): one row
holds up to thousands of points, so a million-point series reads as a few hundred rows. Since
version 4 a chunk row's ``codec`` says how its columns are stored (:mod:`._codec`: 0 raw
little-endian arrays, as every chunk written before; 1 packed); since version 5 each chunk of
``SUMMARIZED_FROM`` points or more has a summary (:mod:`._summary`, table ``summaries``),
which charts read instead of the points.
String series are packed chunks too (version 6, ``text_chunks``: steps, timestamps, value
lengths and the values' UTF-8; see :mod:`._text_chunks`), which moves the ``points`` rows of
existing string series into chunks. Since version 7 a float series' first point may wait in
its field row (``head_ts``, see :mod:`._sqlite_append`), so that a call making a million
one-point series writes one row each. Every other series keeps one row per point. The UI's
saved views are rows of ``views`` (version 2, which imports the ``ui/views.json`` file that
version 1 stores kept them in).
"""

from __future__ import annotations

SCHEMA_VERSION = 7
VIEWS_IMPORT = 2  # the migration after which an existing <store>/ui/views.json is imported
TEXT_CHUNKS = 6  # the migration after which string series points are moved into text_chunks

# Migration N takes a store from version N-1 to N. Append, never edit.
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE projects(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL,
        counter INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE runs(
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        custom_id TEXT NOT NULL,
        sys_id TEXT NOT NULL,
        experiment TEXT,
        parent_id INTEGER REFERENCES runs(id),
        fork_step INTEGER,
        depth INTEGER NOT NULL DEFAULT 0,
        UNIQUE(project_id, custom_id)
    );
    CREATE INDEX runs_experiment ON runs(project_id, experiment);
    CREATE INDEX runs_parent ON runs(parent_id);
    CREATE TABLE fields(
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        type INTEGER NOT NULL,
        value,
        step INTEGER,
        n INTEGER NOT NULL DEFAULT 0,
        vmin REAL,
        vmax REAL,
        UNIQUE(run_id, path)
    );
    CREATE INDEX fields_path ON fields(path, run_id);
    CREATE TABLE chunks(
        field_id INTEGER NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
        first_step INTEGER NOT NULL,
        last_step INTEGER NOT NULL,
        n INTEGER NOT NULL,
        steps BLOB NOT NULL,
        vals BLOB NOT NULL,
        ts BLOB NOT NULL,
        PRIMARY KEY(field_id, first_step)
    );
    CREATE TABLE points(
        field_id INTEGER NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        ts REAL NOT NULL,
        value,
        PRIMARY KEY(field_id, step)
    ) WITHOUT ROWID;
    CREATE TABLE sessions(
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started REAL NOT NULL,
        ping REAL NOT NULL,
        closed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_run ON sessions(run_id, ping);
    """,
    # saved views of the UI, per project (they were a ui/views.json file beside the database)
    2: """
    CREATE TABLE views(
        project TEXT NOT NULL,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        saved REAL NOT NULL,
        PRIMARY KEY(project, name)
    ) WITHOUT ROWID;
    """,
    # The run listing's flags (sys/trashed, sys/experiment/is_head: Booleans that are true) in
    # a small partial index, so that leaving the trash out of 100,000 runs, or picking the
    # heads, reads a handful of index entries instead of a field row per run. The selection
    # SQL spells the condition with literals, as a partial index needs.
    3: """
    CREATE INDEX fields_true ON fields(path, run_id) WHERE type = 3 AND value = 1;
    """,
    # Packed chunk columns (_codec): each row says how its columns are stored; the default
    # is the raw layout every existing chunk has, so no row is rewritten.
    4: """
    ALTER TABLE chunks ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
    """,
    # Each float chunk's summaries (the M4 picks of its blocks, see _summary), keyed as its chunk
    # with the chunk's count (a summary whose n differs is stale, and unused): a chart over a
    # range much wider than its pixels reads these instead of every point. A table of its own,
    # not a column of chunks: a row's last column lies past its point blobs' overflow pages,
    # which SQLite walks to reach it. Chunks written before have none and are read point by
    # point. And the runs in creation order (the table's default sort) as a small partial
    # index, so that the first rows of 100,000 runs are a walk along it that stops at the
    # page's end, not a sort of every run.
    5: """
    CREATE TABLE summaries(
        field_id INTEGER NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
        first_step INTEGER NOT NULL,
        n INTEGER NOT NULL,
        coarse BLOB NOT NULL,
        picks BLOB NOT NULL,
        PRIMARY KEY(field_id, first_step)
    );
    CREATE INDEX fields_created ON fields(value, run_id) WHERE path = 'sys/creation_time';
    """,
    # String series in packed chunks (see _text_chunks); the store's Python step after this
    # SQL moves each existing string series' points rows into chunks.
    6: """
    CREATE TABLE text_chunks(
        field_id INTEGER NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
        first_step INTEGER NOT NULL,
        last_step INTEGER NOT NULL,
        n INTEGER NOT NULL,
        steps BLOB NOT NULL,
        ts BLOB NOT NULL,
        lens BLOB NOT NULL,
        vals BLOB NOT NULL,
        PRIMARY KEY(field_id, first_step)
    );
    """,
    # A float series' first point in its field row until more points come (NULL: every point
    # is in chunks, as in every row written before).
    7: """
    ALTER TABLE fields ADD COLUMN head_ts REAL;
    """,
}
