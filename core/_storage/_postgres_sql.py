"""The SQL of the PostgreSQL store's primitives, each one statement, every value bound.

Heads and counters move inside single statements (``INSERT … ON CONFLICT … DO UPDATE …
WHERE``, ``UPDATE … RETURNING``), never by reading a value in one statement and writing it in
another: two writers of one series, or two processes creating runs in one project, are
ordered by PostgreSQL's row locks. An append whose first step is not after the stored head,
or whose type differs from the field's, changes nothing (the statement reports 0 rows) and
the store then explains why.
"""

from __future__ import annotations

COMPACT_SMALL = 1024  # a chunk with fewer points is "small": runs of them get merged
COMPACT_EVERY = 16  # merge this many small chunks trailing a series into one

# -- runs -------------------------------------------------------------------------------------
RUN_SELECT = (
    "SELECT r.id, p.name, r.custom_id, r.sys_id, r.experiment, r.parent_id, r.fork_step, r.depth "
    "FROM runs r JOIN projects p ON r.project_id = p.id"
)
ENSURE_PROJECT = "INSERT INTO projects(name, key) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING"
# the counter bump also takes the project's row lock: run creation in a project is serialized
NEXT_COUNTER = "UPDATE projects SET counter = counter + 1 WHERE name = %s RETURNING id, key, counter"
INSERT_RUN = (
    "INSERT INTO runs(project_id, custom_id, sys_id, experiment, parent_id, fork_step, depth) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
CLAIM_HEAD = (
    "UPDATE fields SET int = 0 WHERE path = %s AND int = 1 AND run_id IN "
    "(SELECT id FROM runs WHERE project_id = %s AND experiment = %s AND id <> %s)"
)
COPY_CONFIGS = (
    "INSERT INTO fields(run_id, path, type, num, int, txt, strs) "
    "SELECT %s, path, type, num, int, txt, strs FROM fields WHERE run_id = %s "
    "AND type = ANY(%s::smallint[]) AND (NOT starts_with(path, 'sys/') OR path = ANY(%s::text[]))"
)
GROUP_TAGS = (
    "INSERT INTO fields(run_id, path, type, strs) VALUES (%s, %s, %s, '{}') "
    "ON CONFLICT (run_id, path) DO NOTHING"
)

# -- sessions ---------------------------------------------------------------------------------
OPEN_SESSION = (
    "INSERT INTO sessions(run_id, host, pid, started, ping) VALUES (%s, %s, %s, %s, %s) RETURNING id"
)
PING = "UPDATE sessions SET ping = %s, closed = %s WHERE id = %s"
RUN_STATE = (
    "SELECT max(ping), count(*) FILTER (WHERE NOT closed AND ping > %s AND ping < %s) "
    "FROM sessions WHERE run_id = %s"
)
ACTIVE_RUNS = (
    "SELECT DISTINCT run_id FROM sessions WHERE NOT closed AND ping > %s AND ping < %s AND run_id = ANY(%s)"
)
# live views listen (see _postgres_listen); equal payloads fold into one per transaction
CHANNEL = "naiad_runs"
NOTIFY = f"SELECT pg_notify('{CHANNEL}', current_schema() || ':' || %s)"

# -- atoms ------------------------------------------------------------------------------------
ASSIGN = (
    "INSERT INTO fields AS f0 (run_id, path, type, num, int, txt, strs) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s::text[]) "
    "ON CONFLICT (run_id, path) DO UPDATE SET num = excluded.num, int = excluded.int, "
    "txt = excluded.txt, strs = excluded.strs WHERE f0.type = excluded.type"
)
_SET = (
    "INSERT INTO fields AS f0 (run_id, path, type, strs) VALUES (%s, %s, %s, %s::text[]) "
    "ON CONFLICT (run_id, path) DO UPDATE SET strs = {merge} WHERE f0.type = excluded.type"
)
SET_ADD = _SET.replace(
    "{merge}", 'ARRAY(SELECT DISTINCT x COLLATE "C" AS y FROM unnest(f0.strs || excluded.strs) x ORDER BY y)'
)
SET_REMOVE = _SET.replace(
    "{merge}",
    'ARRAY(SELECT x FROM unnest(f0.strs) x WHERE NOT (x = ANY(%s::text[])) ORDER BY x COLLATE "C")',
)
SET_CLEAR = _SET.replace("{merge}", "'{}'")
DELETE = "DELETE FROM fields WHERE run_id = %s AND (path = %s OR starts_with(path, %s))"
INCR = "UPDATE fields SET int = int + %s WHERE run_id = %s AND path = %s"
FIELD_TYPE_STEP = "SELECT type, step FROM fields WHERE run_id = %s AND path = %s"

# -- series -----------------------------------------------------------------------------------
# One statement appends a chunk and moves the head; nothing happens when the field has
# another type or a step at or after the chunk's first (another writer got there first).
APPEND_CHUNK = """
WITH f AS (
    INSERT INTO fields AS f0 (run_id, path, type, num, step, n, vmin, vmax, small, small_from)
    VALUES (%(run)s, %(path)s, %(type)s, %(last)s, %(last_step)s, %(n)s, %(lo)s, %(hi)s,
            %(small)s, %(small_from)s)
    ON CONFLICT (run_id, path) DO UPDATE SET
        num = excluded.num, step = excluded.step, n = f0.n + excluded.n,
        vmin = least(f0.vmin, excluded.vmin), vmax = greatest(f0.vmax, excluded.vmax),
        small = CASE WHEN excluded.small = 1 THEN f0.small + 1 ELSE 0 END,
        small_from = CASE WHEN excluded.small = 1 THEN coalesce(f0.small_from, excluded.small_from) END
    WHERE f0.type = excluded.type AND (f0.step IS NULL OR f0.step < %(first)s)
    RETURNING id
)
INSERT INTO chunks(field_id, first_step, last_step, n, codec, steps, vals, ts, summary, coarse)
SELECT id, %(first)s, %(last_step)s, %(n)s, %(codec)s, %(steps)s, %(vals)s, %(ts)s,
       %(summary)s, %(coarse)s FROM f
"""
# Merging the small chunks trailing a series: three statements, each a no-op unless the field
# has COMPACT_EVERY of them (so they can be sent unconditionally in the batch's pipeline).
# Small chunks are raw (codec 0, see _chunk_params), so their columns concatenate.
COMPACT_MERGE = """
UPDATE chunks c SET last_step = a.last_step, n = a.n, steps = a.steps, vals = a.vals, ts = a.ts,
    summary = a.summary, coarse = a.coarse
FROM (
    SELECT ch.field_id, f.small_from AS first, max(ch.last_step) AS last_step, sum(ch.n)::int AS n,
           string_agg(ch.steps, ''::bytea ORDER BY ch.first_step) AS steps,
           string_agg(ch.vals, ''::bytea ORDER BY ch.first_step) AS vals,
           string_agg(ch.ts, ''::bytea ORDER BY ch.first_step) AS ts,
           -- summaries concatenate (see _summary); one chunk without one leaves the merge without
           CASE WHEN bool_and(ch.summary IS NOT NULL)
                THEN string_agg(ch.summary, ''::bytea ORDER BY ch.first_step) END AS summary,
           CASE WHEN bool_and(ch.coarse IS NOT NULL)
                THEN string_agg(ch.coarse, ''::bytea ORDER BY ch.first_step) END AS coarse
    FROM fields f JOIN chunks ch ON ch.field_id = f.id AND ch.first_step >= f.small_from
    WHERE f.run_id = %(run)s AND f.path = %(path)s AND f.small >= %(every)s
    GROUP BY ch.field_id, f.small_from
) a
WHERE c.field_id = a.field_id AND c.first_step = a.first
"""
COMPACT_DELETE = """
DELETE FROM chunks c USING fields f
WHERE f.run_id = %(run)s AND f.path = %(path)s AND f.small >= %(every)s
  AND c.field_id = f.id AND c.first_step > f.small_from
"""
COMPACT_RESET = (
    "UPDATE fields SET small = 0, small_from = NULL "
    "WHERE run_id = %(run)s AND path = %(path)s AND small >= %(every)s"
)
APPEND_POINTS = """
WITH f AS (
    INSERT INTO fields AS f0 (run_id, path, type, txt, step, n)
    VALUES (%(run)s, %(path)s, %(type)s, %(last)s, %(last_step)s, %(n)s)
    ON CONFLICT (run_id, path) DO UPDATE SET txt = excluded.txt, step = excluded.step, n = f0.n + excluded.n
    WHERE f0.type = excluded.type AND (f0.step IS NULL OR f0.step < %(first)s)
    RETURNING id
)
INSERT INTO points(field_id, step, ts, value)
SELECT f.id, u.s, u.t, u.v
FROM f, unnest(%(steps)s::bigint[], %(ts)s::float8[], %(vals)s::text[]) AS u(s, t, v)
"""

# -- reads ------------------------------------------------------------------------------------
FIELDS = "SELECT path, type, num, int, txt, strs, step, n FROM fields WHERE run_id = %s"
CHUNKS = (
    "SELECT c.first_step, c.last_step, c.n, c.steps, c.vals, c.ts, c.codec FROM chunks c "
    "JOIN fields f ON c.field_id = f.id WHERE f.run_id = %s AND f.path = %s "
    "AND (%s::bigint IS NULL OR c.first_step <= %s) AND (%s::bigint IS NULL OR c.last_step >= %s) "
    "ORDER BY c.first_step LIMIT %s::bigint"  # LIMIT NULL: no limit
)
CHUNK_SUMMARIES = (  # {column}: summary, or coarse
    "SELECT c.first_step, c.last_step, c.n, c.{column} FROM chunks c "
    "JOIN fields f ON c.field_id = f.id WHERE f.run_id = %s AND f.path = %s "
    "AND (%s::bigint IS NULL OR c.first_step <= %s) AND (%s::bigint IS NULL OR c.last_step >= %s) "
    "ORDER BY c.first_step"
)
POINTS_WHERE = (
    "FROM points p JOIN fields f ON p.field_id = f.id WHERE f.run_id = %s AND f.path = %s "
    "AND (%s::bigint IS NULL OR p.step <= %s) AND (%s::bigint IS NULL OR p.step >= %s)"
)
LAST_CHUNK_BEFORE = (
    "SELECT c.first_step, c.last_step, c.n, c.steps, c.vals, c.ts, c.codec FROM chunks c "
    "JOIN fields f ON c.field_id = f.id "
    "WHERE f.run_id = %s AND f.path = %s AND c.first_step <= %s ORDER BY c.first_step DESC LIMIT 1"
)
LAST_POINT_BEFORE = (
    "SELECT p.step, p.value FROM points p JOIN fields f ON p.field_id = f.id "
    "WHERE f.run_id = %s AND f.path = %s AND p.step <= %s ORDER BY p.step DESC LIMIT 1"
)

# -- saved views of the UI --------------------------------------------------------------------
VIEWS = "SELECT project, name, url, saved FROM views"
SAVE_VIEW = (
    "INSERT INTO views(project, name, url, saved) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (project, name) DO UPDATE SET url = excluded.url, saved = excluded.saved"
)
DELETE_VIEW = "DELETE FROM views WHERE project = %s AND name = %s"
