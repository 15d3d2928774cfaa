"""The filter grammar: what parses to what, where errors point, and that values never reach SQL text.

Selection against real runs (every operator on every type) is in test_query.py; here the parser
and the compiler are checked on their own, plus a property test that whatever parses compiles
to SQL that SQLite runs against a real store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import naiad
from naiad._filter import (
    MAX_DEPTH,
    And,
    Compare,
    Exists,
    Not,
    Or,
    Term,
    parse,
    parse_time,
    paths,
)
from naiad._storage._sqlite_select import compile_filter, install
from naiad.errors import FilterSyntaxError, NaiadError


def cmp(
    path: str, op: str, value: object, column: int, term_column: int = 1, agg: str | None = None
) -> Compare:
    return Compare(Term(path, agg, term_column), op, value, column)


def test_precedence_not_binds_tightest_then_and_then_or() -> None:
    node = parse("a == 1 or not b == 2 and c == 3")
    assert node == Or(
        (cmp("a", "==", 1, 6), And((Not(cmp("b", "==", 2, 20, 15)), cmp("c", "==", 3, 31, 26))))
    )
    grouped = parse("(a == 1 or b == 2) and c == 3")
    assert isinstance(grouped, And) and isinstance(grouped.items[0], Or)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x == 3", 3),
        ("x == -3", -3),
        ("x == 0.25", 0.25),
        ("x == 1e-3", 1e-3),
        ("x == .5", 0.5),
        ("x == 2.", 2.0),
        ("x == -inf", float("-inf")),
        ("x == INF", float("inf")),
        ("x == 9223372036854775807", 9223372036854775807),
        ("x == 9223372036854775808", 9.223372036854776e18),
        ('x == "a b"', "a b"),
        ("x == 'it''", None),
        ('x == "say \\"hi\\"\\n"', 'say "hi"\n'),
        ("x == 'don\\'t'", "don't"),
        ("x == true", True),
        ("x == False", False),
        ('x == ""', ""),
    ],
)
def test_values(text: str, value: object) -> None:
    if value is None:
        with pytest.raises(FilterSyntaxError):
            parse(text)
        return
    node = parse(text)
    assert isinstance(node, Compare) and node.value == value and type(node.value) is type(value)


def test_paths_aggregates_exists_and_truthiness() -> None:
    assert parse("last(training/val/loss) < 0.3") == cmp("training/val/loss", "<", 0.3, 27, agg="last")
    assert parse("MAX(loss) >= 1").term.aggregate == "max"  # type: ignore[union-attr]
    assert parse("exists(training/val)") == Exists("training/val")
    assert parse("sys/failed") == cmp("sys/failed", "==", True, 1)
    assert parse("`odd path/with (parens)` = 1") == cmp("odd path/with (parens)", "==", 1, 28)
    assert parse("last == 1") == cmp("last", "==", 1, 9)  # a function name without '(' is a path
    assert parse("lr-Adam:x@1 > 0").term.path == "lr-Adam:x@1"  # type: ignore[union-attr]
    assert parse('sys/tags contains "a"') == cmp("sys/tags", "contains", "a", 19)
    assert parse('name !~ "^x"') == cmp("name", "!~", "^x", 9)
    assert paths(parse('a == 1 and (not exists(b) or c ~ "x")')) == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("", 1, "Empty filter"),
        ("   ", 4, "Empty filter"),
        ("config/lr >", 12, "Expected a value"),
        ("config/lr >> 3", 12, "Expected a value"),
        ("config/lr 3", 11, "Expected 'and', 'or'"),
        ("(a == 1", 8, "')' to close the '(' at column 1"),
        ("a == 1)", 7, "Expected 'and', 'or'"),
        ('a == "open', 6, "Unterminated string"),
        ("`open path == 1", 1, "Unterminated path"),
        ("a $ 1", 3, "Unexpected character '$'"),
        ("a == 1 && b == 2", 8, "Unexpected character '&'"),
        ('a ~ "(unclosed"', 5, "Invalid regular expression"),
        ("a ~ 3", 5, "quoted regular expression"),
        ("a contains 3", 12, "quoted string"),
        ('last(a) == "x"', 12, "compares with a number"),
        ("last(a) contains 'x'", 9, "applies to a path, not to last(...)"),
        ('min(a) ~ "x"', 8, "applies to a path, not to min(...)"),
        ("last(a)", 8, "Expected a comparison"),
        ("a < true", 3, "true and false compare with == or != only"),
        ("exists(a", 9, "')' after the path"),
        ("exists()", 8, "Expected a field path"),
        ("and == 1", 1, "Expected a field path"),
        ("a == b", 6, "Expected a value"),
        ("a == 1 and", 11, "Expected a field path"),
        ("not", 4, "Expected a field path"),
        ("`` == 1", 1, "Invalid path"),
        ("a == 1 or or b == 2", 11, "Expected a field path"),
    ],
)
def test_errors_point_at_the_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse(text)
    err = info.value
    assert err.column == column and err.text == text and fragment in str(err)
    assert isinstance(err, ValueError) and isinstance(err, NaiadError)
    assert str(err).splitlines()[-1] == "  " + " " * (column - 1) + "^"


def test_nesting_is_bounded() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "a == 1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(FilterSyntaxError, match="nested more than"):
        parse(deep)
    with pytest.raises(FilterSyntaxError, match="nested more than"):
        parse("not " * (MAX_DEPTH + 1) + "a")
    ok = "(" * MAX_DEPTH + "a == 1" + ")" * MAX_DEPTH
    assert parse(ok) == cmp("a", "==", 1, MAX_DEPTH + 6, MAX_DEPTH + 1)


def test_a_filter_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        parse(3)  # type: ignore[arg-type]


def test_times_read_as_utc_unless_an_offset_is_given() -> None:
    assert parse_time("1970-01-01T00:00:01Z") == 1_000_000
    assert parse_time("1970-01-01 00:00:01") == 1_000_000
    assert parse_time("1970-01-01T01:00:00+01:00") == 0
    assert parse_time("1970-01-02") == 86_400_000_000
    assert parse_time("yesterday") is None


def test_values_and_paths_are_bound_never_spliced_into_sql() -> None:
    evil = "x'); DROP TABLE runs; --"
    sql, params = compile_filter(parse(f'`{evil}` == "{evil}" or sys/tags contains "{evil}"'), now=0.0)
    assert evil not in sql and "DROP" not in sql
    assert params.count(evil) == 4  # path, value, and the tag twice (string and set forms)
    assert sql.count("?") == len(params)


def test_sys_state_compiles_to_the_sessions_table() -> None:
    sql, params = compile_filter(parse('sys/state == "active"'), now=100.0)
    assert "sessions" in sql and "fields" not in sql and params == [80.0, 120.0]  # no ping from the future
    sql, _ = compile_filter(parse('sys/state != "active"'), now=100.0)
    assert sql.startswith("(NOT ")
    assert compile_filter(parse('sys/state ~ "active"'), now=0.0)[0] == "1"  # both states match
    assert compile_filter(parse("sys/state == 3"), now=0.0)[0] == "0"


# -- property: anything that parses runs in SQLite --------------------------------------------------------
@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    root = tmp_path_factory.mktemp("filter") / "store"
    with naiad.Run(run_id="a", experiment_name="e", store=root, tags=["x"]) as run:
        run["p"] = {"f": 0.5, "i": 3, "s": "text", "b": True}
        run.log_metrics({"m": 1.0}, step=1)
    conn = sqlite3.connect(Path(root) / "naiad.db")
    install(conn)
    return conn


_path = st.sampled_from(
    ["p/f", "p/i", "p/s", "p/b", "m", "sys/tags", "sys/state", "sys/creation_time", "`a b`", "nope"]
)
_value = st.one_of(
    st.integers(-10, 10).map(str),
    st.floats(allow_nan=False, width=32).map(repr),
    st.sampled_from(["true", "false", '"text"', "'x'", '"2024-01-01"', '"\\"; --"']),
)
_term = st.one_of(
    _path, st.tuples(st.sampled_from(["last", "min", "max", "count"]), _path).map(lambda t: f"{t[0]}({t[1]})")
)
_atom = st.one_of(
    st.tuples(_term, st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "="]), _value).map(" ".join),
    st.tuples(
        _path, st.sampled_from(["~", "!~", "contains"]), st.sampled_from(['"^t"', '"x"', '"[a-z]+"'])
    ).map(" ".join),
    _path.map(lambda p: f"exists({p})"),
    _path,
)
_filter = st.recursive(
    _atom,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or", "AND"]), inner).map(" ".join),
        inner.map(lambda x: f"not ({x})"),
        inner.map(lambda x: f"({x})"),
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_filter)
def test_whatever_parses_compiles_to_sql_that_runs(db: sqlite3.Connection, text: str) -> None:
    try:
        node = parse(text)
    except FilterSyntaxError:
        return  # e.g. last(x) == true: refused with a column, which is the contract
    sql, params = compile_filter(node, now=0.0)
    db.execute(f"SELECT r.id FROM runs r WHERE {sql}", params).fetchall()


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab/_ ()=!<>~\"'`.-1e&,\\")) | st.characters(), max_size=40)
)
def test_random_text_parses_or_raises_filter_syntax_error(text: str) -> None:
    try:
        parse(text)
    except FilterSyntaxError as e:
        assert 1 <= e.column <= len(text) + 1
