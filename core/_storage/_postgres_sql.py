"""The SQL of the PostgreSQL store's primitives, each one statement, every value bound.

Heads and counters move inside single statements (``INSERT … ON CONFLICT … DO UPDATE …
WHERE``, ``UPDATE … RETURNING``), never by reading a value in one statement and writing it in
another: two writers of one series, or two processes creating runs in one project, are
ordered by PostgreSQL's row locks. An append whose first step is not after the stored head,
or whose type differs from the field's, changes nothing (the statement reports 0 rows) and
the store then explains why.
"""

from __future__ import annotations

from .._types import FieldType

COMPACT_SMALL = 1024  # a chunk with fewer points is "small": runs of them get merged
COMPACT_EVERY = 16  # merge this many small chunks trailing a series into one
# a float series' run of small chunks starts with the chunk merged last, still small: the run
# is merged again only once it has a GROWTH-th of that chunk's points in chunks, so each
# point is rewritten a few times (not COMPACT_SMALL / COMPACT_EVERY times) on its way into a
# chunk of COMPACT_SMALL points
COMPACT_GROWTH = 8

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
# An append split into several chunks (see _codec.spans) sends one per chunk, each after the
# first also requiring the head to be exactly where the previous one left it (``after``), so
# an overtaken split append never leaves a hole.
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
        AND (%(after)s::bigint IS NULL OR f0.step = %(after)s)
    RETURNING id
)
INSERT INTO chunks(field_id, first_step, last_step, n, codec, steps, vals, ts, summary, coarse)
SELECT id, %(first)s, %(last_step)s, %(n)s, %(codec)s, %(steps)s, %(vals)s, %(ts)s,
       %(summary)s, %(coarse)s FROM f
"""
# Merging the small chunks trailing a float series happens in Python (_postgres_floats), so
# the merged chunk is packed by the codec and summarized afresh: the batch's pipeline carries
# a read of the run of small chunks, which returns rows only once the field counts enough of
# them (COMPACT_EVERY, and COMPACT_GROWTH above). The batch's own append locked the field
# row, and every writer of the series takes that lock first (FOR UPDATE makes sure), so
# those chunks stay as read until the transaction ends.
COMPACT_READ = f"""
SELECT f.id, c.first_step, c.last_step, c.n, c.steps, c.vals, c.ts, c.codec
FROM fields f JOIN chunks c ON c.field_id = f.id AND c.first_step >= f.small_from
WHERE f.run_id = %(run)s AND f.path = %(path)s AND f.type = {int(FieldType.FLOAT_SERIES)}
  AND f.small >= greatest(%(every)s, 1 + (
      SELECT h.n FROM chunks h WHERE h.field_id = f.id AND h.first_step = f.small_from
  ) / {COMPACT_GROWTH})
ORDER BY c.first_step
FOR UPDATE OF f
"""
COMPACT_WRITE = """
UPDATE chunks SET last_step = %(last_step)s, n = %(n)s, codec = %(codec)s, steps = %(steps)s,
    vals = %(vals)s, ts = %(ts)s, summary = %(summary)s, coarse = %(coarse)s
WHERE field_id = %(field)s AND first_step = %(first)s
"""
COMPACT_DROP = (
    "DELETE FROM chunks WHERE field_id = %(field)s AND first_step > %(first)s AND first_step <= %(last_step)s"
)
# a merged chunk that is still small starts the next run of small ones, so it keeps growing
COMPACT_RESET = "UPDATE fields SET small = %(small)s, small_from = %(small_from)s WHERE id = %(field)s"
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
