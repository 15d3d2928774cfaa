"""Bad input, fuzzed: every call stores exactly what it was given, or raises a naiad error naming
the path and the rule and stores nothing of the call; the writer thread survives all of it.

An independent model of the spec (path rules, value types, step order) predicts each call's
outcome; after each example the run is read back and compared with the model, bit for bit.
``NAIAD_RELIABILITY_EXAMPLES`` sets hypothesis' examples per property (CI: 120).
"""

from __future__ import annotations

import itertools
import math
import os
import struct
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import naiad

torch = pytest.importorskip("torch")

EXAMPLES = int(os.environ.get("NAIAD_RELIABILITY_EXAMPLES", "120"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ERROR = "error"  # refused whatever the options
UNSUPPORTED = "unsupported"  # refused, unless cast_unsupported=True stores str(value)
_ids = itertools.count()


# -- the model: what the spec says a path, a value and a step become --------------------------------
def norm_path(path: Any) -> str | None:
    """The stored path, or None where the path rules refuse it."""
    if not isinstance(path, str):
        return None
    p = path[1:] if path.startswith("/") else path
    try:
        size = len(p.encode("utf-8"))
    except UnicodeEncodeError:
        return None
    if not p or size > 1024:
        return None
    if any(not seg or seg.isspace() or seg in (".", "..") for seg in p.split("/")):
        return None
    return p


def atom(value: Any) -> tuple[str, Any]:
    """(type label, stored value) for an assignment, or (ERROR or UNSUPPORTED, None)."""
    if isinstance(value, (np.generic, np.ndarray)) or torch.is_tensor(value):
        if getattr(value, "shape", ()) != () or isinstance(value, np.datetime64):
            return UNSUPPORTED, None
        value = value.item()
    if isinstance(value, bool):
        return "Boolean", value
    if isinstance(value, int):
        return ("Integer", value) if -(2**63) <= value < 2**63 else (ERROR, None)
    if isinstance(value, float):
        return "Float", value
    if isinstance(value, str):
        try:
            return ("String", value) if len(value.encode("utf-8")) <= 65536 else (ERROR, None)
        except UnicodeEncodeError:
            return ERROR, None
    if isinstance(value, datetime):
        try:  # naive means local time; it must exist in UTC to be read back
            local = value if value.tzinfo else value.astimezone()
            return "Datetime", local.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            return ERROR, None
    if isinstance(value, (set, frozenset, list, tuple)) and all(isinstance(x, str) for x in value):
        return ("StringSet", set(value)) if all(atom(x)[0] == "String" for x in value) else (ERROR, None)
    return UNSUPPORTED, None


def point(value: Any) -> float | None:
    """A float-series value as stored (ints widened), or None when refused."""
    if isinstance(value, (np.generic, np.ndarray)) or torch.is_tensor(value):
        if getattr(value, "shape", ()) != () or isinstance(value, np.datetime64):
            return None
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def fixed(step: Any) -> int | None:
    if isinstance(step, np.generic):
        step = step.item()
    if isinstance(step, bool) or not isinstance(step, (int, float)):
        return None
    if not 0 <= step < 1e12:
        return None
    return step * 1_000_000 if isinstance(step, int) else round(step * 1_000_000)


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


# -- strategies ----------------------------------------------------------------------------------------
segment = st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=8)
good_paths = st.lists(segment, min_size=1, max_size=4).map("/".join)
odd_paths = st.sampled_from(
    [
        "",
        "/",
        "//",
        "a//b",
        "a/",
        "/a",
        "..",
        "a/../b",
        ".",
        "a/./b",
        " ",
        "a/ /b",
        "\t/x",
        "x" * 1024,
        "x" * 1025,
        "é" * 512,
        "é" * 513,
        "a\ud800b",
        "a\x00b",
        "日本/語",
        "sys/secret",
        "sys/tags",
        "a/b/" + "c" * 1020,
    ]
)
paths = st.one_of(good_paths, good_paths, odd_paths)


def _f32(x: float) -> Any:
    with np.errstate(over="ignore"):  # large doubles become inf in float32, as numpy does
        return np.float32(x)


def _chars(spec: tuple[str, int]) -> str:
    return spec[0] * spec[1]


nan_payloads = st.integers(0, 2**64 - 1).map(lambda b: struct.unpack("<d", struct.pack("<Q", b))[0])
floats = st.one_of(st.floats(), nan_payloads, st.sampled_from([-0.0, 0.0, math.inf, -math.inf, 5e-324]))
ints = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.integers(), st.sampled_from([2**63, -(2**63) - 1, 2**1100])
)
np_scalars = st.one_of(
    floats.map(np.float64),
    floats.map(_f32),
    st.floats(width=16).map(np.float16),
    st.integers(-128, 127).map(np.int8),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.integers(0, 2**64 - 1).map(np.uint64),
    st.booleans().map(np.bool_),
    st.text(max_size=5).map(np.str_),
    st.sampled_from([np.datetime64("2020-01-02T03:04:05.123456789"), np.datetime64("2021-05-06")]),
    floats.map(np.array),
    st.lists(st.floats(), min_size=1, max_size=3).map(np.array),
)
torch_values = st.one_of(
    st.floats(allow_nan=False, width=32).map(torch.tensor),
    st.integers(-(2**63), 2**63 - 1).map(torch.tensor),
    st.booleans().map(torch.tensor),
    st.floats(allow_nan=False, allow_infinity=False, width=16).map(
        lambda x: torch.tensor(x, dtype=torch.bfloat16)
    ),
    st.lists(st.floats(allow_nan=False), min_size=2, max_size=3).map(torch.tensor),
)
others = st.one_of(
    st.decimals(allow_nan=False),
    st.fractions(),
    st.complex_numbers(),
    st.none(),
    st.binary(max_size=4),
    st.just(object()),
    st.timedeltas(),
    st.sampled_from([("x", 65536), ("x", 65537), ("é", 32768), ("é", 32769)]).map(_chars),  # 64 KiB edge
    st.sampled_from([Decimal("1.5"), "a\ud800", "a\x00b"]),
)
times = st.datetimes(timezones=st.none() | st.timezones()) | st.sampled_from([datetime.min, datetime.max])
string_sets = st.one_of(
    st.sets(st.text(max_size=4), max_size=3),
    st.lists(st.text(max_size=4), max_size=3),
    st.lists(st.one_of(st.text(max_size=2), st.integers()), min_size=1, max_size=3),
)
values = st.one_of(
    floats, ints, st.booleans(), st.text(max_size=20), np_scalars, torch_values, others, times, string_sets
)
series_values = st.one_of(floats, ints, st.booleans(), np_scalars, torch_values, others)
steps = st.one_of(
    st.none(),
    st.integers(-5, 10**12 + 5),
    st.integers(0, 50),
    st.floats(),
    st.floats(0, 100),
    st.sampled_from([-1, -0.5, 1e12, 1e12 - 1, 999999999999.5, math.nan, math.inf, True, "3", np.int64(7)]),
)


metric_keys = st.one_of(good_paths, odd_paths, st.sampled_from(["a", "/a", "a/b"]))


def tree(depth: int = 3) -> st.SearchStrategy[Any]:
    keys = st.one_of(segment, segment, st.sampled_from(["", "a/b", "..", " ", "/x", 1, None]))
    return st.recursive(
        values, lambda inner: st.dictionaries(keys, inner, min_size=1, max_size=4), max_leaves=8
    )


# -- checks --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "store"


def fresh(store: Path, **kwargs: Any) -> naiad.Run:
    return naiad.Run(run_id=f"f{next(_ids)}", store=store, **kwargs)


def assert_names(error: Exception, raw_paths: list[Any]) -> None:
    """A naiad error whose message names one of the paths (or keys) of the call, and the rule."""
    assert isinstance(error, naiad.NaiadError), f"{type(error).__name__} is not a naiad error: {error}"
    text = str(error)
    names = [str(p)[:40] for p in raw_paths if isinstance(p, str) and p] + [
        n[:40] for n in map(norm_path, raw_paths) if n
    ]
    assert any(n in text for n in names) or "path" in text.lower() or "key" in text.lower(), text
    assert len(text) > 15, text  # says which rule, not just "bad"


def user_fields(run: naiad.Run) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for k, v in node.items():
            path = f"{prefix}/{k}" if prefix else k
            if path == "sys":
                continue
            if isinstance(v, dict) and v and not {"sha256"} <= v.keys():
                walk(path, v)
            else:
                out[path] = v

    walk("", run.fetch())
    return out


def same(label: str, want: Any, got: Any) -> bool:
    if label == "Float":
        return bits(want) == bits(got)
    return type(got) is type(want) and bool(got == want)


def check_atoms(run: naiad.Run, model: dict[str, tuple[str, Any]]) -> None:
    assert run.wait(timeout=60), "the writer must still be alive and writing"
    stored = user_fields(run)
    assert sorted(stored) == sorted(model), "a field appeared or vanished"
    for path, (label, want) in model.items():
        assert same(label, want, stored[path]), (path, label, want, stored[path])


# -- properties -----------------------------------------------------------------------------------------
@fuzz
@given(path=paths, value=values)
@example(path="when", value=datetime.min)  # naive, so local time: before year 1 in UTC east of it
@example(path="when", value=datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))))  # year 10000
@example(path="when", value=np.datetime64("2020-01-02T03:04:05.123456789"))  # item() is an int
def test_assigning_any_value_to_any_path_stores_it_exactly_or_raises(
    store: Path, path: Any, value: Any
) -> None:
    run = fresh(store)
    norm, (label, want) = norm_path(path), atom(value)
    if norm is not None and (norm == "sys" or norm.startswith("sys/")) and norm != "sys/tags":
        label = ERROR  # read-only sys fields
    if norm == "sys/tags":
        label = label if label == "StringSet" else ERROR
    try:
        run[path] = value
    except Exception as e:
        assert_names(e, [path])
        assert norm is None or label in (ERROR, UNSUPPORTED), f"refused a valid write: {e}"
        check_atoms(run, {})
    else:
        assert norm is not None and label not in (ERROR, UNSUPPORTED), f"accepted {path!r} = {value!r}"
        if norm == "sys/tags":
            assert run["sys/tags"].fetch() == want
            check_atoms(run, {})
        else:
            check_atoms(run, {norm: (label, want)})
    run.close()


@fuzz
@given(
    calls=st.lists(
        st.tuples(st.dictionaries(metric_keys, series_values, max_size=4), steps), min_size=1, max_size=4
    ),
    on_error=st.sampled_from(["raise", "warn"]),
)
@example(calls=[({"a": 1.0, "/a": 2.0}, 1)], on_error="raise")  # one field given twice
@example(calls=[({"a": 1.0, "a/b": 2.0}, 1)], on_error="warn")  # a field and a field under it
def test_log_metrics_is_all_or_nothing_per_call_and_exact(
    store: Path, calls: list[Any], on_error: str
) -> None:
    """Steps negative, NaN, >= 1e12, repeated or decreasing; values of every type; raise or warn."""
    run = fresh(store, on_error=on_error)
    model: dict[str, list[tuple[int, float]]] = {}
    dropped = 0
    for data, step in calls:
        outcome: dict[str, tuple[int, float] | None] = {}
        bad: list[str] = []
        seen: set[str] = set()  # the call's own paths, and the namespaces they open
        opened: set[str] = set()
        spaces = {ns for p in model for ns in _prefixes(p)}
        for key, raw in data.items():
            p, v = norm_path(key), point(raw)
            if p is None or p in seen or p in opened or any(ns in seen for ns in _prefixes(p)):
                bad.append(key)  # refused by the path rules, or twice / nested in one call
                continue
            seen.add(p)
            opened.update(_prefixes(p))
            if p == "sys" or p.startswith("sys/") or p in spaces or any(ns in model for ns in _prefixes(p)):
                bad.append(key)
                continue
            s = fixed(step) if step is not None else _next(model.get(p))
            last = model.get(p, [])[-1:] or [None]
            if v is None or s is None:
                bad.append(key)
            elif last[0] is None or s > last[0][0]:
                outcome[p] = (s, v)
            elif s == last[0][0] and bits(v) == bits(last[0][1]):
                outcome[p] = None  # identical re-send: a no-op
            else:
                bad.append(key)
        try:
            with pytest.warns(naiad.NaiadWarning) if (bad and on_error == "warn") else nullcontext():
                run.log_metrics(data, step=step)
        except Exception as e:
            assert on_error == "raise" and bad, f"{type(e).__name__}: {e}"
            assert_names(e, list(data))
            continue
        assert not bad or on_error == "warn", f"accepted {data!r} at step {step!r}"
        dropped += len(bad)
        for p, new in outcome.items():
            if new is not None:
                model.setdefault(p, []).append(new)
    assert run.wait(timeout=60)
    stored = user_fields(run)
    assert sorted(stored) == sorted(model)
    for p, points in model.items():
        frame = run[p].fetch_values(include_timestamp=False)
        assert [round(s * 1e6) for s in frame["step"]] == [s for s, _ in points]
        assert [bits(v) for v in frame["value"]] == [bits(v) for _, v in points]
    if dropped:
        assert run["sys/diagnostics/dropped"].fetch() == dropped
    run.close()


@fuzz
@given(config=tree(), cast=st.booleans())
@example(config={"a": 1, "a/b": 2}, cast=False)
@example(config={"a": {"b": 1}, "a/b": 2.5}, cast=True)
def test_log_configs_stores_the_whole_tree_or_nothing(store: Path, config: Any, cast: bool) -> None:
    run = fresh(store)
    expected: dict[str, tuple[str, Any]] = {}
    ok = isinstance(config, dict)
    leaves = list(_flatten("", config)) if ok else []
    for key, value in leaves:
        p = norm_path(key)
        label, want = atom(value)
        if label == UNSUPPORTED and cast:
            label, want = atom(str(value))
        if (
            p is None
            or label in (ERROR, UNSUPPORTED)
            or p in expected
            or p == "sys"
            or p.startswith("sys/")
            or any(q.startswith(p + "/") or p.startswith(q + "/") for q in expected)
        ):
            ok = False
        else:
            expected[p] = (label, want)
    try:
        run.log_configs(config, flatten=True, cast_unsupported=cast)
    except Exception as e:
        assert_names(e, [k for k, _ in leaves] or ["log_configs"])
        assert not ok, f"refused a valid config: {e}"
        check_atoms(run, {})
    else:
        assert ok, f"accepted {config!r}"
        check_atoms(run, expected)
    run.close()


def test_a_path_that_is_not_a_string_is_a_path_error(store: Path) -> None:
    run = fresh(store)
    for path in (["x"], {"x": 1}, 1, None, b"x"):
        with pytest.raises(naiad.PathError, match="must be a str"):
            run[path] = 1.0  # type: ignore[index]
    run.close()


# -- the big ones, once each -------------------------------------------------------------------------
def test_a_100000_key_config_is_stored_whole(store: Path) -> None:
    run = fresh(store)
    config = {f"k{i:06d}": (i if i % 3 else float(i) / 7) for i in range(100_000)}
    run.log_configs({"big": config}, flatten=True)
    assert run.wait(timeout=120)
    got = run.fetch()["big"]
    assert len(got) == 100_000 and all(bits(float(got[k])) == bits(float(v)) for k, v in config.items())
    run.close()


def test_a_10_mb_string_is_refused_naming_the_limit_and_nothing_of_the_call_is_stored(store: Path) -> None:
    run = fresh(store)
    with pytest.raises(naiad.FieldValueError, match=r"'cfg/text'.*65536") as caught:
        run.log_configs({"cfg": {"ok": 1, "text": "x" * 10_000_000, "also": 2.0}}, flatten=True)
    assert caught.value.path == "cfg/text"
    check_atoms(run, {})
    run.close()


def test_a_dict_nested_50_deep_becomes_a_50_level_path(store: Path) -> None:
    run = fresh(store)
    nested: Any = {"leaf": -0.0}
    for i in range(50):
        nested = {f"l{i}": nested}
    run["deep"] = nested
    path = "deep/" + "/".join(f"l{i}" for i in reversed(range(50))) + "/leaf"
    check_atoms(run, {path: ("Float", -0.0)})
    run.close()


def test_numpy_and_torch_values_store_their_python_value(store: Path) -> None:
    run = fresh(store)
    given_values = {
        "np/f32": np.float32(0.1),
        "np/i64": np.int64(-(2**63)),
        "np/bool": np.bool_(True),
        "torch/f": torch.tensor(0.1),
        "torch/bf16": torch.tensor(1.5, dtype=torch.bfloat16),
        "torch/i": torch.tensor(7),
        "torch/b": torch.tensor(False),
        "np/0d": np.array(2.5),
    }
    run.log_configs(given_values)
    run.log_metrics(
        {"m/np": np.float32(0.1), "m/torch": torch.tensor(0.25), "m/int": 2**53 + 1}, step=np.int64(3)
    )
    check_atoms(
        run,
        {
            **{k: atom(v) for k, v in given_values.items()},
            "m/np": ("Float", float(np.float32(0.1))),
            "m/torch": ("Float", 0.25),
            "m/int": ("Float", float(2**53 + 1)),
        },
    )
    run.close()


def test_timestamps_that_cannot_be_stored_are_refused_and_the_writer_keeps_writing(store: Path) -> None:
    """A NaN timestamp once killed the writer thread: now the call is refused up front."""
    run = fresh(store)
    for stamp in (math.nan, math.inf, 1.7e12, datetime.min):  # 1.7e12: milliseconds, not seconds
        with pytest.raises(naiad.FieldValueError, match=r"'a'.*epoch seconds"):
            run.log_metrics({"a": 1.0}, step=1, timestamp=stamp)
    run.log_metrics({"a": 1.0}, step=1, timestamp=datetime(2026, 3, 5, tzinfo=timezone.utc))
    assert run.wait(timeout=30)
    assert run["a"].fetch_values()["timestamp"].iloc[0] == datetime(2026, 3, 5, tzinfo=timezone.utc)
    run.close()


# -- helpers ---------------------------------------------------------------------------------------------
def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _next(points: list[tuple[int, float]] | None) -> int:
    return 0 if not points else (points[-1][0] // 1_000_000 + 1) * 1_000_000


def _flatten(prefix: str | None, value: dict[Any, Any]) -> Any:
    """(path, leaf) pairs, keys joined with "/" as the spec says; None for a non-str key."""
    for k, v in value.items():
        path = None if prefix is None or not isinstance(k, str) else (f"{prefix}/{k}" if prefix else k)
        if isinstance(v, dict):
            yield from _flatten(path, v)
        else:
            yield path, v
