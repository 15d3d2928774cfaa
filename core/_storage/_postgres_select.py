"""Run selection for the PostgreSQL store: a :class:`RunSelection` and its filter tree as SQL.

The same rules as the embedded store's (:mod:`._sqlite_select`), over typed columns: numbers
compare against ``num`` / ``int`` (NaN never matches a comparison), text against ``txt`` in
the "C" collation (code-point order, as Python compares strings), string sets through
``strs``. Regular expressions are PostgreSQL's (``~``: advanced regular expressions, close to
Python's ``re`` for the patterns filters use). Every value and path is a bound parameter.
"""

from __future__ import annotations

from typing import Any

from .. import _sys
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

_COLUMNS = {"last": "f.num", "min": "f.vmin", "max": "f.vmax", "count": "f.n"}
_CMP = {"==": "=", "=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_NUMERIC = (FieldType.FLOAT, FieldType.INTEGER, FieldType.FLOAT_SERIES)
_TEXT = (FieldType.STRING, FieldType.STRING_SERIES)
_NUMBER = "coalesce(f.num, f.int::double precision)"
ACTIVE = "r.id IN (SELECT s.run_id FROM sessions s WHERE NOT s.closed AND s.ping > %s AND s.ping < %s)"


def _types(types: tuple[FieldType, ...]) -> str:
    return "f.type IN (" + ",".join(str(int(t)) for t in types) + ")"


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
                parts.append(field_test(item, joiner, params, _condition, "%s"))
            else:
                parts.append(_compile(item, params, now))
        return balanced(parts, joiner)
    if isinstance(node, Not):
        return "(NOT " + _compile(node.item, params, now) + ")"
    if isinstance(node, Exists):
        params.extend([node.path, node.path + "/"])
        return "r.id IN (SELECT f.run_id FROM fields f WHERE f.path = %s OR starts_with(f.path, %s))"
    if node.term.path == _sys.STATE and node.term.aggregate is None:
        outcome = {state: state_matches(node, state) for state in _sys.STATES}
        if outcome[_sys.ACTIVE] == outcome[_sys.INACTIVE]:
            return "TRUE" if outcome[_sys.ACTIVE] else "FALSE"
        params.extend(_sys.live_window(now))
        return ACTIVE if outcome[_sys.ACTIVE] else f"(NOT {ACTIVE})"
    return field_test([node], "AND", params, _condition, "%s")


def _condition(node: Compare) -> tuple[str, list[Any]]:
    op, value, agg = node.op, node.value, node.term.aggregate
    if agg is not None:
        column = _COLUMNS[agg]
        types = (FieldType.FLOAT_SERIES,) if agg != "count" else tuple(t for t in FieldType if t.is_series)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "FALSE", []
        return (
            f"{_types(types)} AND {column} IS NOT NULL "
            f"AND {column}::double precision <> 'NaN' AND {column} {_CMP[op]} %s"
        ), [float(value)]
    if op in ("~", "!~"):
        neg = "NOT " if op == "!~" else ""
        return (
            f"(({_types(_TEXT)} AND {neg}(f.txt ~ %s)) OR (f.type = {int(FieldType.STRING_SET)} AND "
            f"{neg}EXISTS (SELECT 1 FROM unnest(f.strs) x WHERE x ~ %s)))"
        ), [value, value]
    if op == "contains":
        return (
            f"(({_types(_TEXT)} AND strpos(f.txt, %s) > 0) OR "
            f"(f.type = {int(FieldType.STRING_SET)} AND %s = ANY(f.strs)))"
        ), [value, value]
    sql_op = _CMP[op]
    if isinstance(value, bool):
        return f"f.type = {int(FieldType.BOOLEAN)} AND f.int {sql_op} %s", [int(value)]
    if isinstance(value, (int, float)):
        return (
            f"{_types(_NUMERIC)} AND {_NUMBER} IS NOT NULL AND {_NUMBER} <> 'NaN' AND {_NUMBER} {sql_op} %s"
        ), [float(value)]
    micros = parse_time(value)
    text = f"({_types(_TEXT)} AND f.txt {sql_op} %s)"
    if micros is None:
        return text, [value]
    return f"({text} OR (f.type = {int(FieldType.DATETIME)} AND f.int {sql_op} %s))", [value, micros]


def where(sel: RunSelection, now: float) -> tuple[str, list[Any]]:
    """The WHERE condition on ``runs r`` for ``sel``, and its parameters."""
    label = "r.experiment" if sel.heads else "r.custom_id"
    parts = ["r.project_id = (SELECT id FROM projects WHERE name = %s)"]
    params: list[Any] = [sel.project]
    if sel.heads:
        parts.append(
            "r.experiment IS NOT NULL AND r.id IN (SELECT run_id FROM fields "
            f"WHERE path = %s AND type = {int(FieldType.BOOLEAN)} AND int = 1)"  # literal: see fields_true
        )
        params.append(_sys.EXPERIMENT_IS_HEAD)
    if sel.names_regex is not None:
        parts.append(f"{label} ~ %s")
        params.append(sel.names_regex)
    elif sel.names is not None:
        parts.append(f"{label} = ANY(%s::text[])")
        params.append(list(sel.names))
    if sel.experiments is not None:
        parts.append("r.experiment = ANY(%s::text[])")
        params.append(list(sel.experiments))
    trashed = sel.trashed
    if trashed is False and sel.filter is not None and _sys.TRASHED in paths(sel.filter):
        trashed = None  # the filter says what it wants of the trash
    if trashed is not None:
        parts.append(
            ("" if trashed else "NOT ") + "r.id IN (SELECT run_id FROM fields "
            f"WHERE path = %s AND type = {int(FieldType.BOOLEAN)} AND int = 1)"
        )
        params.append(_sys.TRASHED)
    if sel.filter is not None:
        sql, extra = compile_filter(sel.filter, now)
        parts.append(sql)
        params += extra
    return " AND ".join(parts), params


def select_sql(sel: RunSelection, now: float) -> tuple[str, list[Any]]:
    """SELECT (run pk, label) of the selected runs, in order, and its parameters."""
    label = "r.experiment" if sel.heads else "r.custom_id"
    cond, params = where(sel, now)
    direction = "ASC" if sel.ascending else "DESC"
    join, order = "", "r.id ASC"  # unsorted: the order runs were created in this store
    join_params: list[Any] = []
    order_params: list[Any] = []
    if sel.sort_by == _sys.STATE:
        order = f"CASE WHEN {ACTIVE} THEN 'active' ELSE 'inactive' END {direction}, r.id {direction}"
        order_params = _sys.live_window(now)
    elif sel.sort_by is not None:
        join, join_params = "LEFT JOIN fields s ON s.run_id = r.id AND s.path = %s", [sel.sort_by]
        # missing and NaN values last either way, like the embedded store
        order = (
            f"(s.id IS NULL OR s.num = 'NaN' OR s.type = {int(FieldType.STRING_SET)}), "
            f"coalesce(s.num, s.int::double precision) {direction} NULLS LAST, "
            f'(s.txt COLLATE "C") {direction} NULLS LAST, r.id {direction}'
        )
    sql = f"SELECT r.id, {label} FROM runs r {join} WHERE {cond} ORDER BY {order}"
    all_params = join_params + params + order_params
    if sel.limit is not None:
        sql += " LIMIT %s"
        all_params.append(sel.limit)
    return sql, all_params


# The partial index of migration 5 and the queries that use it spell the path as a literal
_CREATED = f"s.path = '{_sys.CREATION_TIME}'"


def creation_sql(sel: RunSelection, now: float) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """The selection in creation order as two statements: the runs along the partial index
    ``fields_created`` (a walk that stops at the limit, not a sort of every run), then, for
    what the limit leaves, the runs without a creation time (none that naiad wrote), last as
    in any sort. The second takes the number of rows still wanted as its last parameter."""
    label = "r.experiment" if sel.heads else "r.custom_id"
    cond, params = where(sel, now)
    direction = "ASC" if sel.ascending else "DESC"
    head = (
        f"SELECT r.id, {label} FROM fields s JOIN runs r ON r.id = s.run_id WHERE {_CREATED} AND {cond} "
        f"ORDER BY s.int {direction}, s.run_id {direction} LIMIT %s::bigint"
    )
    rest = (
        f"SELECT r.id, {label} FROM runs r WHERE {cond} AND r.id NOT IN "
        f"(SELECT s.run_id FROM fields s WHERE {_CREATED}) ORDER BY r.id {direction} LIMIT %s::bigint"
    )
    return (head, [*params, sel.limit]), (rest, list(params))


def count_sql(sel: RunSelection, now: float) -> tuple[str, list[Any]]:
    cond, params = where(sel, now)
    return (
        f"SELECT r.experiment, count(*) FROM runs r WHERE {cond} AND r.experiment IS NOT NULL "
        "GROUP BY r.experiment",
        params,
    )
