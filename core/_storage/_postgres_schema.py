"""The PostgreSQL schema of the team store, its version, and the ordered migrations that reach it.

One PostgreSQL schema (namespace, ``naiad`` by default) holds one store, so one database can
hold several. The layout mirrors the SQLite store's (:mod:`._schema`) with typed value
columns instead of SQLite's dynamic ``value``: ``num`` (double precision: Float, and a float
series' last value), ``int`` (bigint: Integer, Datetime in microseconds, Boolean as 0/1),
``txt`` (text: String, the JSON descriptors of files, artifacts and histograms, the last
value of other series) and ``strs`` (``text[]``: StringSet). ``fillfactor = 80`` on
``fields`` keeps the per-batch update of a series head a HOT update.

Float series are packed chunks (int64 fixed-point steps, float64 values, float64 timestamps,
little-endian) in three ``bytea`` columns stored ``EXTERNAL`` (uncompressed: read back with a
binary cursor at memory speed; since version 4 a row's ``codec`` says whether they are raw
or packed by :mod:`._codec`, which compresses them itself). Each batch appends a chunk, or
several when it holds more than ``CHUNK_MAX_POINTS``; ``small``/``small_from`` on the field
count the small chunks trailing the series, merged into one packed, summarized chunk once
there are enough (see :mod:`._postgres_floats`).

String series are packed chunks too (version 6, ``text_chunks``: steps, timestamps, value
lengths and the values' UTF-8, see :mod:`._postgres_text`); other series keep a row per point.

The UI's saved views are rows of ``views`` (version 2). Every write transaction to a run ends
with ``pg_notify('naiad_runs', '<schema>:<run id>')``: the schema in the payload because one
database may hold several stores, and a listener wants only its own.
"""

from __future__ import annotations

from ._postgres_text import MIGRATION as _TEXT_CHUNKS

SCHEMA_VERSION = 6
TEXT_CHUNKS = 6  # the migration after which string series points are moved into text_chunks

# Migration N takes a store from version N-1 to N, in one transaction. Append, never edit.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL)",
        """CREATE TABLE projects(
            id bigserial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            key text NOT NULL,
            counter bigint NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE runs(
            id bigserial PRIMARY KEY,
            project_id bigint NOT NULL REFERENCES projects(id),
            custom_id text NOT NULL,
            sys_id text NOT NULL,
            experiment text,
            parent_id bigint REFERENCES runs(id),
            fork_step bigint,
            depth integer NOT NULL DEFAULT 0,
            UNIQUE(project_id, custom_id)
        )""",
        "CREATE INDEX runs_experiment ON runs(project_id, experiment)",
        "CREATE INDEX runs_parent ON runs(parent_id)",
        "CREATE INDEX runs_sys_id ON runs(project_id, sys_id)",
        """CREATE TABLE fields(
            id bigserial PRIMARY KEY,
            run_id bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            path text COLLATE "C" NOT NULL,
            type smallint NOT NULL,
            num double precision,
            int bigint,
            txt text COLLATE "C",
            strs text[] COLLATE "C",
            step bigint,
            n bigint NOT NULL DEFAULT 0,
            vmin double precision,
            vmax double precision,
            small integer NOT NULL DEFAULT 0,
            small_from bigint,
            UNIQUE(run_id, path)
        ) WITH (fillfactor = 80)""",
        "CREATE INDEX fields_path ON fields(path, run_id)",
        """CREATE TABLE chunks(
            field_id bigint NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
            first_step bigint NOT NULL,
            last_step bigint NOT NULL,
            n integer NOT NULL,
            steps bytea NOT NULL,
            vals bytea NOT NULL,
            ts bytea NOT NULL,
            PRIMARY KEY(field_id, first_step)
        )""",
        "ALTER TABLE chunks ALTER COLUMN steps SET STORAGE EXTERNAL, "
        "ALTER COLUMN vals SET STORAGE EXTERNAL, ALTER COLUMN ts SET STORAGE EXTERNAL",
        """CREATE TABLE points(
            field_id bigint NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
            step bigint NOT NULL,
            ts double precision NOT NULL,
            value text,
            PRIMARY KEY(field_id, step)
        )""",
        """CREATE TABLE sessions(
            id bigserial PRIMARY KEY,
            run_id bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            host text NOT NULL,
            pid integer NOT NULL,
            started double precision NOT NULL,
            ping double precision NOT NULL,
            closed boolean NOT NULL DEFAULT false
        )""",
        "CREATE INDEX sessions_run ON sessions(run_id, ping)",
    ),
    # saved views of the UI, per project
    2: (
        """CREATE TABLE views(
            project text COLLATE "C" NOT NULL,
            name text COLLATE "C" NOT NULL,
            url text NOT NULL,
            saved double precision NOT NULL,
            PRIMARY KEY(project, name)
        )""",
    ),
    # True Booleans (sys/trashed, sys/experiment/is_head) in a small partial index, as in the
    # embedded store's migration 3: the run listing leaves the trash out, or picks heads, from
    # a few index entries. The selection SQL spells the condition with literals.
    3: ("CREATE INDEX fields_true ON fields(path, run_id) WHERE type = 3 AND int = 1",),
    # Packed chunk columns (_codec), as in the embedded store's migration 4: the default is
    # the raw layout of every existing chunk, so no row is rewritten.
    4: ("ALTER TABLE chunks ADD COLUMN codec smallint NOT NULL DEFAULT 0",),
    # Each float chunk's summaries, as in the embedded store's migration 5 (NULL for the chunks
    # written before: read point by point); EXTERNAL like the other chunk columns. And the
    # creation times (Datetimes: microseconds in int) as a partial index, the runs table's
    # default order, walked up to a page's end instead of sorting every run.
    5: (
        "ALTER TABLE chunks ADD COLUMN summary bytea, ADD COLUMN coarse bytea",
        "ALTER TABLE chunks ALTER COLUMN summary SET STORAGE EXTERNAL, "
        "ALTER COLUMN coarse SET STORAGE EXTERNAL",
        "CREATE INDEX fields_created ON fields(int, run_id) WHERE path = 'sys/creation_time'",
    ),
    # String series in packed chunks (see _text_chunks, _postgres_text); the store's Python step
    # after these statements moves each existing string series' points rows into chunks.
    6: _TEXT_CHUNKS,
}
