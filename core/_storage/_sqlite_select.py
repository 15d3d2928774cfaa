"""Run selection for the embedded store: a :class:`RunSelection` and its filter tree as SQL.

The filter tree (:mod:`naiad._filter`) is compiled into a condition on the ``runs`` table
(alias ``r``) whose every value and path is a bound parameter; ``naiad_regexp`` (Python's
``re.search``) is registered on the connection that runs it. ``sys/state`` is decided from
the sessions table at ``now``, never from the stored field.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .. import _regex, _sys
from .._filter import (
    And,
    Compare,
    Exists,
    Node,
    Not,
    Or,
    balanced,
    field_groups,
    field_test,
    parse_time,
    paths,
    state_matches,
)
from .._types import FieldType
from ._records import RunSelection

_COLUMNS = {"last": "value", "min": "vmin", "max": "vmax", "count": "n"}
_CMP = {"==": "=", "=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_NUMERIC = (FieldType.FLOAT, FieldType.INTEGER, FieldType.FLOAT_SERIES)
_TEXT = (FieldType.STRING, FieldType.STRING_SERIES)
ACTIVE_RUNS = "SELECT s.run_id FROM sessions s WHERE s.closed = 0 AND s.ping > ? AND s.ping < ?"
# runs whose Boolean at a path is true: literals, so the partial index fields_true serves it
_TRUE_FLAG = f"SELECT run_id FROM fields WHERE path = ? AND type = {int(FieldType.BOOLEAN)} AND value = 1"


def active_sql(now: float) -> tuple[str, list[Any]]:
    """The condition 'a process is attached to run r' (``sys/state`` is derived, not stored)."""
    return f"r.id IN ({ACTIVE_RUNS})", _sys.live_window(now)


def compile_filter(node: Node, now: float) -> tuple[str, list[Any]]:
    """SQL condition on ``runs r`` and its parameters; ``now`` decides ``sys/state``."""
    params: list[Any] = []
    return _compile(node, params, now), params


def _compile(node: Node, params: list[Any], now: float) -> str:
    if isinstance(node, (And, Or)):
        joiner = "AND" if isinstance(node, And) else "OR"
        parts = []
        for item in field_groups(node.items, _sys.STATE):
            if isinstance(item, list):
                parts.append(field_test(item, joiner, params, _condition, "?"))
            else:
                parts.append(_compile(item, params, now))
        return balanced(parts, joiner)
    if isinstance(node, Not):
        return "(NOT " + _compile(node.item, params, now) + ")"
    if isinstance(node, Exists):
        # a field at the path, or a namespace: any path in ['p/', 'p0') ('0' follows '/')
        params.extend([node.path, node.path + "/", node.path + "0"])
        return "r.id IN (SELECT f.run_id FROM fields f WHERE f.path = ? OR (f.path >= ? AND f.path < ?))"
    if node.term.path == _sys.STATE and node.term.aggregate is None:
        return _state(node, params, now)
    return field_test([node], "AND", params, _condition, "?")


def _types(types: tuple[FieldType, ...]) -> str:
    return "f.type IN (" + ",".join(str(int(t)) for t in types) + ")"


def _condition(node: Compare) -> tuple[str, list[Any]]:
    """The condition on one ``fields f`` row, and its parameters."""
    op, value, agg = node.op, node.value, node.term.aggregate
    if agg is not None:
        column = _COLUMNS[agg]
        types = (FieldType.FLOAT_SERIES,) if agg != "count" else tuple(t for t in FieldType if t.is_series)
        return (
            f"{_types(types)} AND typeof(f.{column}) IN ('integer','real') AND f.{column} {_CMP[op]} ?"
        ), [value]
    if op in ("~", "!~"):
        neg = "NOT " if op == "!~" else ""
        return (
            f"(({_types(_TEXT)} AND {neg}naiad_regexp(?, f.value)) OR "
            f"(f.type = {int(FieldType.STRING_SET)} AND {neg}EXISTS (SELECT 1 FROM "
            "json_each(f.value) j WHERE naiad_regexp(?, j.value))))"
        ), [value, value]
    if op == "contains":
        return (
            f"(({_types(_TEXT)} AND instr(f.value, ?) > 0) OR "
            f"(f.type = {int(FieldType.STRING_SET)} AND EXISTS (SELECT 1 FROM "
            "json_each(f.value) j WHERE j.value = ?)))"
        ), [value, value]
    sql_op = _CMP[op]
    if isinstance(value, bool):
        return f"f.type = {int(FieldType.BOOLEAN)} AND f.value {sql_op} ?", [int(value)]
    if isinstance(value, (int, float)):
        return (f"{_types(_NUMERIC)} AND typeof(f.value) IN ('integer','real') AND f.value {sql_op} ?"), [
            value
        ]
    micros = parse_time(value)
    text = f"({_types(_TEXT)} AND typeof(f.value) = 'text' AND f.value {sql_op} ?)"
    if micros is None:
        return text, [value]
    return f"({text} OR (f.type = {int(FieldType.DATETIME)} AND f.value {sql_op} ?))", [value, micros]


def _state(node: Compare, params: list[Any], now: float) -> str:
    """``sys/state`` is 'active' or 'inactive', decided by the sessions table at ``now``."""
    outcome = {state: state_matches(node, state) for state in _sys.STATES}
    if outcome[_sys.ACTIVE] == outcome[_sys.INACTIVE]:
        return "1" if outcome[_sys.ACTIVE] else "0"
    sql, extra = active_sql(now)
    params.extend(extra)
    return sql if outcome[_sys.ACTIVE] else f"(NOT {sql})"


def _regexp(pattern: str, value: Any) -> int:
    return int(isinstance(value, str) and _regex.compile(pattern).search(value) is not None)


def install(conn: sqlite3.Connection) -> None:
    """Register ``naiad_regexp(pattern, text)`` (``re.search``) on a connection."""
    conn.create_function("naiad_regexp", 2, _regexp, deterministic=True)


def where(sel: RunSelection, now: float) -> tuple[str, list[Any]]:
    """The WHERE condition on ``runs r`` for ``sel``, and its parameters."""
    label = "r.experiment" if sel.heads else "r.custom_id"
    parts = ["r.project_id = (SELECT id FROM projects WHERE name = ?)"]
    params: list[Any] = [sel.project]
    if sel.heads:
        parts.append(f"r.experiment IS NOT NULL AND r.id IN ({_TRUE_FLAG})")
        params.append(_sys.EXPERIMENT_IS_HEAD)
    if sel.names_regex is not None:
        parts.append(f"naiad_regexp(?, {label})")
        params.append(sel.names_regex)
    elif sel.names is not None:
        parts.append(f"{label} IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(sel.names)))
    if sel.experiments is not None:
        parts.append("r.experiment IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(sel.experiments)))
    trashed = sel.trashed
    if trashed is False and sel.filter is not None and _sys.TRASHED in paths(sel.filter):
        trashed = None  # the filter says what it wants of the trash
    if trashed is not None:
        parts.append(("" if trashed else "NOT ") + f"r.id IN ({_TRUE_FLAG})")
        params.append(_sys.TRASHED)
    if sel.filter is not None:
        sql, extra = compile_filter(sel.filter, now)
        parts.append(sql)
        params += extra
    return " AND ".join(parts), params


def select(conn: sqlite3.Connection, sel: RunSelection, now: float) -> list[tuple[int, str]]:
    """(run pk, label) of the selected runs, in order."""
    install(conn)
    label = "r.experiment" if sel.heads else "r.custom_id"
    cond, params = where(sel, now)
    direction = "ASC" if sel.ascending else "DESC"
    join, order = "", "r.id ASC"  # unsorted: the order runs were created in this store
    join_params: list[Any] = []
    order_params: list[Any] = []
    if sel.sort_by == _sys.CREATION_TIME:
        return _by_creation(conn, sel, label, cond, params, direction)
    if sel.sort_by == _sys.STATE:
        active, order_params = active_sql(now)
        order = f"CASE WHEN {active} THEN 'active' ELSE 'inactive' END {direction}, r.id {direction}"
    elif sel.sort_by is not None:
        join, join_params = "LEFT JOIN fields s ON s.run_id = r.id AND s.path = ?", [sel.sort_by]
        order = f"(s.value IS NULL OR typeof(s.value) = 'blob'), s.value {direction}, r.id {direction}"
    sql = f"SELECT r.id, {label} FROM runs r {join} WHERE {cond} ORDER BY {order}"
    all_params = join_params + params + order_params
    if sel.limit is not None:
        sql += " LIMIT ?"
        all_params.append(sel.limit)
    return [(int(pk), str(label)) for pk, label in conn.execute(sql, all_params)]


# The partial index of migration 5 and the queries that use it spell the path as a literal
_CREATED = f"s.path = '{_sys.CREATION_TIME}'"


def _by_creation(
    conn: sqlite3.Connection, sel: RunSelection, label: str, cond: str, params: list[Any], direction: str
) -> list[tuple[int, str]]:
    """The selection in creation order: along the ``fields_created`` index, stopping at the
    limit (the planner would rather sort every run), then the runs without a creation time
    (none that naiad wrote), last as in any sort."""
    sql = (
        f"SELECT r.id, {label} FROM fields s INDEXED BY fields_created CROSS JOIN runs r "
        f"ON r.id = s.run_id WHERE {_CREATED} AND {cond} ORDER BY s.value {direction}, s.run_id {direction}"
    )
    limit = [] if sel.limit is None else [sel.limit]
    rows = conn.execute(sql + (" LIMIT ?" if limit else ""), [*params, *limit]).fetchall()
    if sel.limit is None or len(rows) < sel.limit:
        rest = (
            f"SELECT r.id, {label} FROM runs r WHERE {cond} AND r.id NOT IN "
            f"(SELECT s.run_id FROM fields s WHERE {_CREATED}) ORDER BY r.id {direction}"
        )
        left = [] if sel.limit is None else [sel.limit - len(rows)]
        rows += conn.execute(rest + (" LIMIT ?" if left else ""), [*params, *left]).fetchall()
    return [(int(pk), str(name)) for pk, name in rows]


def count(conn: sqlite3.Connection, sel: RunSelection, now: float) -> int:
    """How many runs ``select`` returns without its limit."""
    install(conn)
    cond, params = where(sel, now)
    return int(conn.execute(f"SELECT count(*) FROM runs r WHERE {cond}", params).fetchone()[0])


def count_by_experiment(conn: sqlite3.Connection, sel: RunSelection, now: float) -> dict[str, int]:
    install(conn)
    cond, params = where(sel, now)
    return {
        str(name): int(n)
        for name, n in conn.execute(
            f"SELECT r.experiment, count(*) FROM runs r WHERE {cond} AND r.experiment IS NOT NULL "
            "GROUP BY r.experiment",
            params,
        )
    }
