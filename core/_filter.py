"""The filter grammar shared by ``naiad.query``, the ``naiad`` command and the web UI.

A filter is parsed by a recursive-descent parser into a small, backend-neutral syntax tree
(:data:`Node`). Each storage backend compiles the tree its own way: the embedded store into
a SQL condition whose every value and path is a bound parameter
(:mod:`naiad._storage._sqlite_select`), the in-memory store by evaluating it. Nothing in a
filter is ever evaluated as Python code. Grammar (keywords are case-insensitive)::

    filter     := or_expr END
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | atom
    atom       := "(" or_expr ")"
                | "exists" "(" path ")"
                | term (CMP value | ("~" | "!~") STRING | "contains" STRING)?
    term       := path | ("last" | "min" | "max" | "count") "(" path ")"
    CMP        := "==" | "=" | "!=" | "<" | "<=" | ">" | ">="
    value      := NUMBER | STRING | "true" | "false"
    path       := bare word of letters, digits and _ - . / : @ + %, or `back-quoted`

A term alone is true when it is the Boolean ``true`` (``sys/failed``, ``not sys/trashed``).
Strings take double or single quotes with backslash escapes. A string compared with a
Datetime field is read as an ISO 8601 time (UTC unless it names an offset).

Meaning: a comparison matches fields whose type fits the value (numbers: Float, Integer and a
float series' last value; strings: String and Datetime; true/false: Boolean), so a run without
the field never matches (``x != 1`` skips it, ``not x == 1`` keeps it). A NaN matches nothing.
``~`` is a regex search (RE2, linear time: no backreferences or lookarounds;
see ``naiad._regex``); on a StringSet it (and ``contains``) looks at each item. Aggregates
read the run's own points (a fork's inherited points are not counted; ``min``/``max`` skip
NaN). ``sys/state`` is decided from the run's sessions at query time, not the stored value.

Example:
    >>> node = parse('config/lr > 0.001 and not (sys/tags contains "bad")')
    >>> sorted(paths(node))
    ['config/lr', 'sys/tags']
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from . import _regex
from ._types import INT64_MAX, INT64_MIN, FieldType
from .errors import FilterSyntaxError

MAX_DEPTH = 64  # nesting beyond this is refused (SQLite's expression depth is 1000)
AGGREGATES = {"last": "value", "min": "vmin", "max": "vmax", "count": "n"}
_KEYWORDS = {"and", "or", "not", "true", "false", "contains"}
_CMP = {"==": "=", "=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<op>==|!=|<=|>=|!~|=|<|>|~)
  | (?P<paren>[()])
  | (?P<string>"|')
  | (?P<quoted>`)
  | (?P<word>[A-Za-z0-9_\-./:@+%]+)
""",
    re.VERBOSE,
)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?", re.IGNORECASE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}
_NUMERIC = (FieldType.FLOAT, FieldType.INTEGER, FieldType.FLOAT_SERIES)
_TEXT = (FieldType.STRING, FieldType.STRING_SERIES)


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str  # op, paren, string, path (back-quoted), word, end
    text: str
    column: int  # 1-based


@dataclasses.dataclass(frozen=True)
class Term:
    """A field, or an aggregate (``last``/``min``/``max``/``count``) of a series."""

    path: str
    aggregate: str | None
    column: int


@dataclasses.dataclass(frozen=True)
class Compare:
    term: Term
    op: str  # one of _CMP, "~", "!~", "contains"
    value: Any  # float | int | str | bool
    column: int  # of the value


@dataclasses.dataclass(frozen=True)
class Exists:
    path: str


@dataclasses.dataclass(frozen=True)
class Not:
    item: Node


@dataclasses.dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Compare | Exists | Not | And | Or


def field_groups(items: tuple[Node, ...], alone: str) -> list[Node | list[Compare]]:
    """The items of an ``And``/``Or``, comparisons of one field gathered into one list.

    A run has one row per path, so "the field matches a, and the field matches b" is "the
    field matches a and b": a backend tests a whole group in one lookup of the field (1,000
    OR'd ids are one subquery, not 1,000). Comparisons of the path ``alone`` (``sys/state``,
    which is no field row) stay apart.
    """
    out: list[Node | list[Compare]] = []
    index: dict[str, int] = {}
    for item in items:
        if isinstance(item, Compare) and not (item.term.path == alone and item.term.aggregate is None):
            at = index.get(item.term.path)
            if at is None:
                index[item.term.path] = len(out)
                out.append([item])
            else:
                group = out[at]
                assert isinstance(group, list)
                group.append(item)
        else:
            out.append(item)
    return out


def field_test(
    group: list[Compare],
    joiner: str,
    params: list[Any],
    condition: Callable[[Compare], tuple[str, list[Any]]],
    mark: str,
) -> str:
    """SQL for "runs whose field at the group's path meets every (AND) or any (OR) of its
    comparisons", for a backend whose ``condition`` compiles one comparison on ``fields f`` and
    whose parameter placeholder is ``mark``; the parameters go to ``params`` in order."""
    params.append(group[0].term.path)
    conds = []
    for node in group:
        cond, values = condition(node)
        params.extend(values)
        conds.append(f"({cond})")
    return f"r.id IN (SELECT f.run_id FROM fields f WHERE f.path = {mark} AND {balanced(conds, joiner)})"


def balanced(parts: list[str], joiner: str) -> str:
    """``parts`` joined by ``joiner`` as a balanced nesting of pairs, in order.

    For backends that compile the tree to text: 1,000 OR'd terms nest 10 deep instead of
    1,000 (SQLite refuses an expression tree deeper than 1,000).
    """
    if len(parts) == 1:
        return parts[0]
    mid = len(parts) // 2
    return f"({balanced(parts[:mid], joiner)} {joiner} {balanced(parts[mid:], joiner)})"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; an unknown character or open quote is a FilterSyntaxError."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterSyntaxError(f"Unexpected character {text[pos]!r}", text, pos + 1)
        kind = m.lastgroup or ""
        if kind in ("string", "quoted"):
            value, end = _read_quoted(text, pos)
            tokens.append(Token("string" if kind == "string" else "path", value, pos + 1))
            pos = end
            continue
        if kind != "space":
            tokens.append(Token(kind, m.group(), pos + 1))
        pos = m.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    quote, i = text[start], start + 1
    out: list[str] = []
    while i < len(text):
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\" and quote != "`":
            if i + 1 >= len(text):
                break
            out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
            continue
        out.append(c)
        i += 1
    what = "path" if quote == "`" else "string"
    raise FilterSyntaxError(f"Unterminated {what} (opened with {quote})", text, start + 1)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def error(self, message: str, token: Token | None = None) -> FilterSyntaxError:
        token = token or self.peek()
        return FilterSyntaxError(message, self.text, token.column)

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == word:
            self.i += 1
            return True
        return False

    def expect(self, text: str, what: str) -> Token:
        token = self.peek()
        if token.text != text or token.kind not in ("paren", "op"):
            raise self.error(f"Expected {what}, found {_describe(token)}")
        return self.take()

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("Empty filter: expected a condition such as config/lr > 0.001")
        node = self.or_expr()
        if self.peek().kind != "end":
            raise self.error(f"Expected 'and', 'or' or the end of the filter, found {_describe(self.peek())}")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.keyword("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        if self.keyword("not"):
            self.nest()
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.atom()

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"Filter nested more than {MAX_DEPTH} levels deep")

    def atom(self) -> Node:
        token = self.peek()
        if token.kind == "paren" and token.text == "(":
            self.take()
            self.nest()
            node = self.or_expr()
            self.depth -= 1
            self.expect(")", "')' to close the '(' at column " + str(token.column))
            return node
        if token.kind == "word" and token.text.lower() == "exists" and self.peek(1).text == "(":
            self.i += 2
            path = self.path()
            self.expect(")", "')' after the path")
            return Exists(path)
        term = self.term()
        op = self.peek()
        if op.kind == "op":
            self.take()
            if op.text in ("~", "!~"):
                return self.regex(term, op)
            value_token = self.peek()
            value = self.value()
            if isinstance(value, bool) and op.text not in ("==", "=", "!="):
                raise self.error("true and false compare with == or != only", op)
            if term.aggregate is not None and (isinstance(value, (bool, str))):
                raise self.error(f"{term.aggregate}(...) compares with a number", value_token)
            return Compare(term, "==" if op.text == "=" else op.text, value, value_token.column)
        if op.kind == "word" and op.text.lower() == "contains":
            self.take()
            self.plain(term, op)
            value_token = self.peek()
            if value_token.kind != "string":
                raise self.error(
                    "'contains' takes a path and a quoted string (sys/tags contains \"x\")", value_token
                )
            self.take()
            return Compare(term, "contains", value_token.text, value_token.column)
        if term.aggregate is not None:
            raise self.error(f"Expected a comparison after {term.aggregate}(...), found {_describe(op)}")
        return Compare(term, "==", True, term.column)

    def plain(self, term: Term, op: Token) -> None:
        if term.aggregate is not None:
            raise self.error(f"'{op.text}' applies to a path, not to {term.aggregate}(...)", op)

    def regex(self, term: Term, op: Token) -> Node:
        self.plain(term, op)
        token = self.peek()
        if token.kind != "string":
            raise self.error(f"'{op.text}' takes a path and a quoted regular expression", token)
        self.take()
        try:
            _regex.compile(token.text)
        except _regex.RegexError as e:
            raise self.error(f"Invalid regular expression ({e})", token) from None
        return Compare(term, op.text, token.text, token.column)

    def term(self) -> Term:
        token = self.peek()
        if token.kind == "word" and token.text.lower() in AGGREGATES and self.peek(1).text == "(":
            self.i += 2
            path = self.path()
            self.expect(")", "')' after the path")
            return Term(path, token.text.lower(), token.column)
        return Term(self.path(), None, token.column)

    def path(self) -> str:
        token = self.peek()
        if token.kind == "path" or (token.kind == "word" and token.text.lower() not in _KEYWORDS):
            self.take()
            path = token.text.strip("/")
            if not path or "//" in path:
                raise self.error(f"Invalid path {token.text!r}", token)
            return path
        raise self.error(f"Expected a field path, found {_describe(token)}")

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return token.text
        if token.kind == "word":
            low = token.text.lower()
            if low in ("true", "false"):
                return low == "true"
            if _NUMBER.fullmatch(token.text):
                return _number(token.text)
        self.i -= 1
        raise self.error(
            f"Expected a value (a number, a quoted string, true or false), found {_describe(token)}"
        )


def _number(text: str) -> int | float:
    if re.fullmatch(r"[+-]?\d+", text):
        n = int(text)
        if INT64_MIN <= n <= INT64_MAX:
            return n
    return float(text)


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the filter"
    if token.kind == "string":
        return f"the string {token.text!r}"
    return f"'{token.text}'"


def parse(text: str) -> Node:
    """Parse a filter string into its AST; raise :class:`FilterSyntaxError` with the column."""
    if not isinstance(text, str):
        raise TypeError(f"A filter is a string, not {type(text).__name__}.")
    return _Parser(text).parse()


def paths(node: Node) -> set[str]:
    """Every field path the filter mentions."""
    if isinstance(node, Compare):
        return {node.term.path}
    if isinstance(node, Exists):
        return {node.path}
    if isinstance(node, Not):
        return paths(node.item)
    return set().union(*(paths(n) for n in node.items))


def parse_time(text: str) -> int | None:
    """An ISO 8601 string as UTC microseconds (naive = UTC), or None when it is not a time."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delta = when - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def state_matches(node: Compare, state: str) -> bool:
    """Whether a ``sys/state`` comparison holds for a run in ``state`` (backend-neutral)."""
    return _python_compare(state, node.op, node.value)


def _python_compare(state: str, op: str, value: Any) -> bool:
    if not isinstance(value, str) or isinstance(value, bool):
        return False
    if op == "~":
        return _regex.compile(value).search(state) is not None
    if op == "!~":
        return _regex.compile(value).search(state) is None
    if op == "contains":
        return value in state
    return bool(
        {
            "==": state == value,
            "!=": state != value,
            "<": state < value,
            "<=": state <= value,
            ">": state > value,
            ">=": state >= value,
        }[op]
    )
