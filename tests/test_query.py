"""naiad.query over a store of a few hundred runs: every function and filter form against Python.

One module-scoped store holds 240 root runs in 12 experiments (configs of every atom type, tags,
owners, failures, float and string series, files), fork chains in four experiments, a trashed
head, a run that is still attached (active), a run whose process died without closing (its stored
``sys/state`` says active, its sessions say otherwise), and a second project. Each expectation is
computed in Python from the values the test wrote.
"""

from __future__ import annotations

import math
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import naiad
from naiad import query
from naiad._storage import Assign, RunSpec, open_store
from naiad._types import FieldType
from naiad.errors import FilterSyntaxError, StorageError

pd = pytest.importorskip("pandas")

BASE = datetime(2024, 3, 1, tzinfo=timezone.utc)
EXPERIMENTS = [f"exp{k:02d}" for k in range(12)]
TAGS = ["baseline", "bert", "bad", "gpu"]
INJECTION = "'; DROP TABLE runs; --"
N_ROOTS = 240
TRASHED = {"run-005", "run-006", "run-239"}  # run-239 is the head of exp11


@dataclass
class Model:
    """What the test wrote: atoms and own series points per run, forks, heads."""

    root: Path
    atoms: dict[str, dict[str, Any]] = field(default_factory=dict)
    series: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    strings: dict[str, dict[str, list[tuple[float, str]]]] = field(default_factory=dict)
    parent: dict[str, tuple[str, int]] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def visible(self) -> set[str]:
        return set(self.atoms) - TRASHED

    def chain(self, rid: str) -> list[tuple[str, float]]:
        """(run, last step it contributes) from the root to ``rid``, like naiad's lineage view."""
        out, limit, current = [(rid, math.inf)], math.inf, rid
        while current in self.parent:
            current, step = self.parent[current]
            limit = min(limit, step)
            out.append((current, limit))
        return out[::-1]

    def stitched(self, rid: str, path: str) -> list[tuple[float, float]]:
        return [
            (s, v) for run, limit in self.chain(rid) for s, v in self.series[run].get(path, []) if s <= limit
        ]


def _finite(points: list[tuple[float, float]]) -> list[float]:
    return [v for _, v in points if not math.isnan(v)]


def _log(run: naiad.Run, model: Model, path: str, points: list[tuple[int, float]]) -> None:
    for s, v in points:
        run.log_metrics({path: v}, step=s)
    model.series[run.run_id].setdefault(path, []).extend((float(s), v) for s, v in points)


def _build(root: Path) -> Model:
    model = Model(root)
    for i in range(N_ROOTS):
        rng = random.Random(i)
        rid, exp = f"run-{i:03d}", EXPERIMENTS[i % 12]
        tags = set(rng.sample(TAGS, k=rng.randint(0, 2)))
        owner = "bo" if i % 5 == 0 else "ana"
        atoms: dict[str, Any] = {
            "config/lr": round(rng.uniform(1e-5, 1e-2), 7),
            "config/batch": rng.choice([16, 32, 64, 128]),
            "config/optimizer": INJECTION if i == 13 else rng.choice(["adam", "sgd", "adamw"]),
            "config/use_amp": i % 3 == 0,
            "config/started": BASE + timedelta(days=i % 30, hours=i % 7),
            "config/x": i if i % 2 == 0 else i + 0.5,  # one path, Integer in some runs, Float in others
        }
        if i == 13:
            atoms["weird key/with space"] = 1
        created = BASE + timedelta(minutes=i)
        model.series[rid], model.strings[rid] = {}, {}
        with naiad.Run(
            experiment_name=exp,
            run_id=rid,
            store=root,
            creation_time=created,
            tags=sorted(tags),
            _environ={"NAIAD_OWNER": owner},
        ) as run:
            run.log_configs(atoms)
            _log(run, model, "training/train/loss", [(s, rng.uniform(0.05, 1.0)) for s in range(5)])
            if i % 4:
                val = [(s, rng.uniform(0.1, 1.0)) for s in (1, 3, 4)]
                if i == 7:
                    val[-1] = (4, math.nan)  # a NaN last value matches no comparison
                _log(run, model, "training/val/loss", val)
            if i % 10 == 0:
                run.log_string_series({"notes": f"epoch one of {rid}"}, step=1)
                run.log_string_series({"notes": f"done {rid}"}, step=2)
                model.strings[rid]["notes"] = [(1.0, f"epoch one of {rid}"), (2.0, f"done {rid}")]
            if i % 50 == 0:
                model.files[rid] = f"weights of {rid}".encode()
                run.assign_files({"artifacts/model": naiad.File(model.files[rid], name="model.pt")})
            failed = i % 17 == 0
            if failed:
                run._mark_failed(RuntimeError("boom"))
        model.atoms[rid] = {
            **atoms,
            "sys/name": exp,
            "sys/tags": tags,
            "sys/owner": owner,
            "sys/failed": failed,
            "sys/creation_time": created,
            "sys/trashed": rid in TRASHED,
            "sys/state": "inactive",
        }
        model.heads[exp] = rid
    for k in range(4):  # fork chains: root → fork1 (at 2) → fork2 (at 4); the newest is the head
        exp, parent = EXPERIMENTS[k], f"run-{N_ROOTS - 12 + k:03d}"
        for depth, (rid, step, steps) in enumerate(
            ((f"{exp}-fork1", 2, range(3, 7)), (f"{exp}-fork2", 4, range(5, 9))), start=1
        ):
            created = BASE + timedelta(minutes=N_ROOTS + 2 * k + depth)
            model.series[rid], model.strings[rid] = {}, {}
            with naiad.Run(
                experiment_name=exp,
                run_id=rid,
                store=root,
                fork_run_id=parent,
                fork_step=step,
                creation_time=created,
                _environ={"NAIAD_OWNER": "cy"},
            ) as run:
                _log(run, model, "training/train/loss", [(s, 0.01 * s + k) for s in steps])
                if depth == 1:
                    _log(run, model, "training/val/loss", [(5, 0.02 + k)])
            inherited = {p: v for p, v in model.atoms[parent].items() if not p.startswith("sys/")}
            model.atoms[rid] = {
                **inherited,
                "sys/name": exp,
                "sys/tags": set(model.atoms[parent]["sys/tags"]),
                "sys/owner": "cy",
                "sys/failed": False,
                "sys/creation_time": created,
                "sys/trashed": False,
                "sys/state": "inactive",
            }
            model.parent[rid] = (parent, step)
            model.heads[exp] = rid
            parent = rid
    st = open_store(root)
    try:
        for rid in TRASHED:
            st.write_batch(
                st.find_run("default", rid).pk,  # type: ignore[union-attr]
                [Assign("sys/trashed", int(FieldType.BOOLEAN), True)],
            )
        # a process that died without closing: its session stopped pinging 100 s ago
        ghost = st.open_run(
            RunSpec(
                project="default",
                custom_id="ghost",
                experiment="ghost-exp",
                fork_parent=None,
                fork_step=None,
                creation_time=BASE.timestamp() - 60,
                owner="ana",
                hostname="h",
            )
        )
        st.open_session(ghost.pk, "h", 1, time.time() - 100)
    finally:
        st.close()
    model.atoms["ghost"] = {
        "sys/name": "ghost-exp",
        "sys/owner": "ana",
        "sys/failed": False,
        "sys/tags": set(),
        "sys/creation_time": BASE - timedelta(minutes=1),
        "sys/trashed": False,
        "sys/state": "inactive",
    }
    model.series["ghost"], model.strings["ghost"] = {}, {}
    model.heads["ghost-exp"] = "ghost"
    for j in range(3):  # another project, with run ids that collide with the default project's
        with naiad.Run(
            experiment_name="other-exp", run_id=f"run-{j:03d}", project="other", store=root
        ) as run:
            run["config/lr"] = 0.5
    return model


@pytest.fixture(scope="module", params=["sqlite", "postgres", "http"])
def model(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_stores: Callable[[str, Path], Path | str],
) -> Iterator[Model]:
    """The same runs in each store backend; every query test runs against each."""
    root = module_stores(request.param, tmp_path_factory.mktemp("query") / "store")
    built = _build(root)
    live = naiad.Run(
        experiment_name="live",
        run_id="live-run",
        store=root,
        creation_time=BASE + timedelta(days=1),
        _environ={"NAIAD_OWNER": "ana"},
    )
    live["config/lr"] = 0.5
    live.wait()
    built.atoms["live-run"] = {
        "config/lr": 0.5,
        "sys/name": "live",
        "sys/owner": "ana",
        "sys/failed": False,
        "sys/tags": set(),
        "sys/creation_time": BASE + timedelta(days=1),
        "sys/trashed": False,
        "sys/state": "active",
    }
    built.series["live-run"], built.strings["live-run"] = {}, {}
    built.heads["live"] = "live-run"
    yield built
    live.close()


# -- the filter grammar against Python predicates -----------------------------------------------------
def _series_of(m: Model, rid: str, path: str) -> list[tuple[float, float]]:
    return m.series[rid].get(path, [])


def _last(m: Model, rid: str, path: str) -> float | None:
    points = _series_of(m, rid, path)
    return points[-1][1] if points else None


def _agg(fn: Callable[[list[float]], float], m: Model, rid: str, path: str) -> float | None:
    values = _finite(_series_of(m, rid, path))
    return fn(values) if values else None


def _cmp(value: Any, op: Callable[[Any], bool]) -> bool:
    """A comparison on a field a run may lack (never true then), NaN never matching."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return op(value)


def _num(a: dict[str, Any], path: str) -> Any:
    v = a.get(path)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _str(a: dict[str, Any], path: str) -> Any:
    v = a.get(path)
    return v if isinstance(v, str) else None


Pred = Callable[[Model, str, dict[str, Any]], bool]
T0 = datetime(2024, 3, 15, tzinfo=timezone.utc)
CASES: list[tuple[str, Pred]] = [
    ("config/lr > 0.005", lambda m, r, a: _cmp(_num(a, "config/lr"), lambda v: v > 0.005)),
    ("config/lr <= 1e-3", lambda m, r, a: _cmp(_num(a, "config/lr"), lambda v: v <= 1e-3)),
    (
        "config/batch >= 64 and config/optimizer == 'adam'",
        lambda m, r, a: (
            _cmp(_num(a, "config/batch"), lambda v: v >= 64) and a.get("config/optimizer") == "adam"
        ),
    ),
    ('config/optimizer != "adam"', lambda m, r, a: _cmp(_str(a, "config/optimizer"), lambda v: v != "adam")),
    ('not config/optimizer == "adam"', lambda m, r, a: a.get("config/optimizer") != "adam"),
    ('config/optimizer < "adamw"', lambda m, r, a: _cmp(_str(a, "config/optimizer"), lambda v: v < "adamw")),
    ("config/use_amp", lambda m, r, a: a.get("config/use_amp") is True),
    ("config/use_amp == false", lambda m, r, a: a.get("config/use_amp") is False),
    ("config/use_amp != true", lambda m, r, a: a.get("config/use_amp") is False),
    ("not sys/failed", lambda m, r, a: not a["sys/failed"]),
    ("SYS/FAILED == TRUE or sys/owner == 'bo'", lambda m, r, a: a["sys/owner"] == "bo"),  # paths: case counts
    ("sys/failed == TRUE OR sys/owner == 'bo'", lambda m, r, a: a["sys/failed"] or a["sys/owner"] == "bo"),
    ('sys/tags contains "bert"', lambda m, r, a: "bert" in a["sys/tags"]),
    (
        'not (sys/tags contains "bad") or sys/name ~ "exp0[12]$"',
        lambda m, r, a: "bad" not in a["sys/tags"] or a["sys/name"] in ("exp01", "exp02"),
    ),
    ('sys/name ~ "^exp1"', lambda m, r, a: a["sys/name"].startswith("exp1")),
    ('sys/name !~ "^exp1"', lambda m, r, a: not a["sys/name"].startswith("exp1")),
    ('sys/tags ~ "^ba"', lambda m, r, a: any(t.startswith("ba") for t in a["sys/tags"])),
    ('sys/name contains "xp1"', lambda m, r, a: "xp1" in a["sys/name"]),
    ("exists(training/val/loss)", lambda m, r, a: "training/val/loss" in m.series[r]),
    ("exists(training/val)", lambda m, r, a: "training/val/loss" in m.series[r]),
    (
        "not exists(notes) and exists(config)",
        lambda m, r, a: "notes" not in m.strings[r] and "config/lr" in a,
    ),
    (
        "last(training/val/loss) < 0.5",
        lambda m, r, a: _cmp(_last(m, r, "training/val/loss"), lambda v: v < 0.5),
    ),
    (
        "last(training/val/loss) >= 0.5",
        lambda m, r, a: _cmp(_last(m, r, "training/val/loss"), lambda v: v >= 0.5),
    ),
    (
        "training/train/loss < 0.5",  # a bare series path means its last value
        lambda m, r, a: _cmp(_last(m, r, "training/train/loss"), lambda v: v < 0.5),
    ),
    (
        "min(training/train/loss) > 0.2",
        lambda m, r, a: _cmp(_agg(min, m, r, "training/train/loss"), lambda v: v > 0.2),
    ),
    (
        "max(training/val/loss) <= 0.6",
        lambda m, r, a: _cmp(_agg(max, m, r, "training/val/loss"), lambda v: v <= 0.6),
    ),
    ("count(training/train/loss) == 4", lambda m, r, a: len(_series_of(m, r, "training/train/loss")) == 4),
    ('config/started >= "2024-03-15"', lambda m, r, a: "config/started" in a and a["config/started"] >= T0),
    (
        'config/started < "2024-03-15T00:00:00+00:00" and config/started > "2024-03-10T03:00:00Z"',
        lambda m, r, a: (
            "config/started" in a and datetime(2024, 3, 10, 3, tzinfo=timezone.utc) < a["config/started"] < T0
        ),
    ),
    (
        'sys/creation_time < "2024-03-01T00:30:00Z"',
        lambda m, r, a: a["sys/creation_time"] < BASE + timedelta(minutes=30),
    ),
    ("config/x > 100.5", lambda m, r, a: _cmp(_num(a, "config/x"), lambda v: v > 100.5)),
    ("config/x == 100", lambda m, r, a: a.get("config/x") == 100),
    ('sys/owner == "bo"', lambda m, r, a: a["sys/owner"] == "bo"),
    (
        "(config/batch == 16 or config/batch == 32) and not (sys/tags contains 'gpu')",
        lambda m, r, a: a.get("config/batch") in (16, 32) and "gpu" not in a["sys/tags"],
    ),
    (
        "config/batch == 16 or config/batch == 32 and sys/owner == 'bo'",  # and binds tighter
        lambda m, r, a: (
            a.get("config/batch") == 16 or (a.get("config/batch") == 32 and a["sys/owner"] == "bo")
        ),
    ),
    ("not not config/use_amp", lambda m, r, a: a.get("config/use_amp") is True),
    (f"config/optimizer == {INJECTION!r}", lambda m, r, a: a.get("config/optimizer") == INJECTION),
    ('config/optimizer == "adam\' OR 1=1 --"', lambda m, r, a: False),
    ("`weird key/with space` == 1", lambda m, r, a: a.get("weird key/with space") == 1),
    ("`x'; DROP TABLE fields; --` == 1", lambda m, r, a: False),
    ('sys/state == "active"', lambda m, r, a: a["sys/state"] == "active"),
    ('sys/state == "inactive"', lambda m, r, a: a["sys/state"] == "inactive"),
    ('sys/state ~ "^in"', lambda m, r, a: a["sys/state"] == "inactive"),
    ('sys/state != "active" and sys/name == "ghost-exp"', lambda m, r, a: r == "ghost"),
    ("sys/experiment/is_head == true", lambda m, r, a: m.heads.get(a["sys/name"]) == r),
    ("config/lr > -inf and config/lr < inf", lambda m, r, a: "config/lr" in a),
]


@pytest.mark.parametrize(("text", "pred"), CASES, ids=[c[0] for c in CASES])
def test_filter_selects_exactly_the_runs_python_expects(model: Model, text: str, pred: Pred) -> None:
    expected = {rid for rid in model.visible() if pred(model, rid, model.atoms[rid])}
    assert set(query.list_runs(filter=text, store=model.root)) == expected


def test_injection_attempts_change_nothing(model: Model) -> None:
    def counts() -> tuple[int, int]:
        st = open_store(model.root, create=False)
        try:
            stats = st.stats()
        finally:
            st.close()
        return stats.runs, stats.fields

    before = counts()
    assert query.list_runs(INJECTION, store=model.root) == []
    assert query.list_runs([INJECTION], store=model.root) == []
    assert query.list_experiments(INJECTION + "x", store=model.root) == []
    table = query.fetch_runs_table(
        runs=["run-013"], attributes=[INJECTION, "config/optimizer"], sort_by=INJECTION, store=model.root
    )
    assert table.loc["run-013", "config/optimizer"] == INJECTION and table[INJECTION].isna().all()
    with pytest.raises(FilterSyntaxError):
        query.list_runs(filter="config/lr > 0; DROP TABLE runs", store=model.root)
    assert counts() == before
    if isinstance(model.root, Path):
        conn = sqlite3.connect(model.root / "naiad.db")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_bad_filters_raise_with_the_column(model: Model) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        query.fetch_runs_table(filter="config/lr >> 3", store=model.root)
    assert info.value.column == 12 and "column 12" in str(info.value)
    with pytest.raises(FilterSyntaxError) as info:
        query.list_runs(filter='sys/name ~ "bert-("', store=model.root)
    assert info.value.column == 12


# -- selecting by name, trash and project ----------------------------------------------------------------
def test_list_runs_by_name_list_regex_and_project(model: Model) -> None:
    root = model.root
    assert set(query.list_runs(store=root)) == model.visible()
    assert query.list_runs("run-010", store=root) == ["run-010"]
    assert query.list_runs(["run-010", "run-011", "nope"], store=root) == ["run-010", "run-011"]
    assert set(query.list_runs(r"^run-00\d$", store=root)) == {f"run-00{d}" for d in range(10)} - TRASHED
    assert query.list_runs(["exp00-fork.*"], store=root) == []  # a list is always exact
    assert set(query.list_runs("fork2", store=root)) == set()  # no metacharacter: an exact name
    assert set(query.list_runs("fork2$", store=root)) == {f"exp0{k}-fork2" for k in range(4)}
    assert query.list_runs(store=root, project="other") == ["run-000", "run-001", "run-002"]
    with pytest.raises(ValueError, match="regular expression"):
        query.list_runs("run-(", store=root)


def test_trashed_runs_are_hidden_unless_asked_for(model: Model) -> None:
    root = model.root
    assert set(query.list_runs(trashed=True, store=root)) == TRASHED
    assert set(query.list_runs(trashed=None, store=root)) == set(model.atoms)
    assert set(query.list_runs(filter="sys/trashed", store=root)) == TRASHED  # the filter decides
    assert set(query.list_runs(filter="sys/trashed == false", store=root)) == model.visible()
    assert "exp11" not in query.list_experiments(store=root)  # its head is trashed
    assert "exp11" in query.list_experiments(trashed=None, store=root)


def test_list_experiments_filters_their_heads(model: Model) -> None:
    root = model.root
    names = {e for e, head in model.heads.items() if head not in TRASHED}
    assert query.list_experiments(store=root) == sorted(names)
    assert query.list_experiments(r"^exp0[0-3]$", store=root) == ["exp00", "exp01", "exp02", "exp03"]
    forked = ["exp00", "exp01", "exp02", "exp03"]
    assert query.list_experiments(filter='sys/owner == "cy"', store=root) == forked
    assert query.list_experiments(["exp05", "live"], filter='sys/state == "active"', store=root) == ["live"]


def test_missing_store_and_bad_arguments_are_clear(model: Model, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="No naiad store"):
        query.list_runs(store=tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()
    with pytest.raises(ValueError, match="limit"):
        query.fetch_runs_table(limit=-1, store=model.root)
    with pytest.raises(ValueError, match="format"):
        query.fetch_metrics(format="tall", store=model.root)
    with pytest.raises(ValueError, match="not both"):
        query.fetch_metrics(experiments="exp00", runs="run-000", store=model.root)


# -- tables ----------------------------------------------------------------------------------------------
def test_runs_table_values_dtypes_and_derived_state(model: Model) -> None:
    cols = [
        "config/lr",
        "config/batch",
        "config/use_amp",
        "config/started",
        "config/x",
        "sys/tags",
        "sys/state",
        "training/val/loss",
        "no/such/path",
    ]
    table = query.fetch_runs_table(attributes=cols, store=model.root)
    assert table.index.name == "run" and list(table.columns) == cols
    assert set(table.index) == model.visible()
    assert str(table["config/batch"].dtype) == "Int64" and str(table["config/use_amp"].dtype) == "boolean"
    assert str(table["config/started"].dtype).startswith("datetime64") and table["config/x"].dtype == float
    for rid in ("run-001", "run-013", "run-100", "exp02-fork2"):
        a = model.atoms[rid]
        row = table.loc[rid]
        assert row["config/lr"] == a["config/lr"] and row["config/batch"] == a["config/batch"]
        assert row["config/use_amp"] == a["config/use_amp"] and row["config/x"] == a["config/x"]
        assert row["config/started"].to_pydatetime() == a["config/started"]
        assert row["sys/tags"] == a["sys/tags"]
    assert table.loc["run-001", "training/val/loss"] == _last(model, "run-001", "training/val/loss")
    assert math.isnan(table.loc["run-007", "training/val/loss"])  # its stored last value is NaN
    assert table["no/such/path"].isna().all()
    # sys/state is derived from the sessions, not the (stale) stored value
    assert table.loc["live-run", "sys/state"] == "active" and table.loc["ghost", "sys/state"] == "inactive"


def test_runs_table_default_and_regex_columns(model: Model) -> None:
    table = query.fetch_runs_table(runs=["run-050", "run-013"], store=model.root)
    assert list(table.columns[:3]) == ["sys/name", "sys/state", "sys/creation_time"]
    expected = {"config/lr", "config/optimizer", "training/train/loss", "weird key/with space"}
    assert expected <= set(table.columns)
    assert not any(c.startswith("sys/") for c in table.columns[3:])
    assert "artifacts/model" not in table.columns and "notes" not in table.columns
    regex = query.fetch_runs_table(runs="run-01[0-3]", attributes=r"^training/|^config/b", store=model.root)
    assert list(regex.columns) == ["config/batch", "training/train/loss", "training/val/loss"]


@pytest.mark.parametrize("ascending", [True, False])
def test_runs_table_sorts_and_limits_like_python(model: Model, ascending: bool) -> None:
    table = query.fetch_runs_table(
        attributes=["config/lr"], sort_by="config/lr", ascending=ascending, limit=25, store=model.root
    )
    having = sorted(
        ((a["config/lr"], r) for r, a in model.atoms.items() if r in model.visible() and "config/lr" in a),
        reverse=not ascending,
    )
    assert table["config/lr"].tolist() == [v for v, _ in having[:25]]
    newest = query.fetch_runs_table(attributes=["sys/name"], limit=3, store=model.root)
    by_time = sorted(model.visible(), key=lambda r: model.atoms[r]["sys/creation_time"], reverse=True)
    assert newest.index.tolist() == by_time[:3]
    missing_last = query.fetch_runs_table(
        attributes=["training/val/loss"], sort_by="training/val/loss", ascending=ascending, store=model.root
    )
    missing = missing_last["training/val/loss"].isna().to_numpy()
    assert missing.sum() > 1 and missing[-missing.sum() :].all()  # runs without it (or NaN) come last
    assert query.fetch_runs_table(limit=0, store=model.root).empty


def test_experiments_table_reads_heads(model: Model) -> None:
    table = query.fetch_experiments_table(
        attributes=["sys/custom_run_id", "sys/owner", "sys/state"],
        sort_by="sys/state",
        ascending=True,
        store=model.root,
    )
    assert table.index.name == "experiment"
    assert dict(table["sys/custom_run_id"]) == {e: h for e, h in model.heads.items() if h not in TRASHED}
    assert table.index[0] == "live" and table.loc["exp00", "sys/owner"] == "cy"
    two = query.fetch_experiments_table(["exp01", "exp02"], attributes=["sys/name"], store=model.root)
    assert sorted(two.index) == ["exp01", "exp02"]


# -- series ----------------------------------------------------------------------------------------------
def test_fetch_metrics_of_experiments_stitches_the_lineage(model: Model) -> None:
    wide = query.fetch_metrics(
        experiments=r"^exp0[0-3]$", attributes=["training/train/loss"], store=model.root
    )
    assert wide.index.names == ["experiment", "step"]
    for k in range(4):
        exp = f"exp0{k}"
        expected = model.stitched(model.heads[exp], "training/train/loss")
        got = wide.loc[exp]["training/train/loss"].dropna()
        assert list(zip(got.index, got)) == expected
        assert [s for s, _ in expected] == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    val = query.fetch_metrics(experiments="exp01", attributes=r"val/", store=model.root)
    assert list(zip(val.index.get_level_values("step"), val["training/val/loss"])) == model.stitched(
        "exp01-fork2", "training/val/loss"
    )  # inherited through a run without it


def test_fetch_metrics_of_runs_without_lineage_and_long_format(model: Model) -> None:
    own = query.fetch_metrics(
        runs=["exp00-fork2", "run-001"],
        attributes=r"train/loss$",
        lineage_to_the_root=False,
        format="long",
        store=model.root,
    )
    assert list(own.columns) == ["run", "path", "step", "value"]
    for rid in ("exp00-fork2", "run-001"):
        part = own[own["run"] == rid]
        assert list(zip(part["step"], part["value"])) == model.series[rid]["training/train/loss"]
    stitched = query.fetch_metrics(
        runs="exp00-fork2", format="long", store=model.root, attributes=["training/train/loss"]
    )
    expected = model.stitched("exp00-fork2", "training/train/loss")
    assert list(zip(stitched["step"], stitched["value"])) == expected


def test_fetch_metrics_step_range_tail_and_time(model: Model) -> None:
    root = model.root
    cut = query.fetch_metrics(
        runs="exp03-fork2", attributes=["training/train/loss"], step_range=(2, 6), store=root
    )
    assert cut.index.get_level_values("step").tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    tail = query.fetch_metrics(
        runs=["run-008", "run-009"], attributes=r"^training/", tail_limit=2, format="long", store=root
    )
    assert tail.groupby(["run", "path"]).size().tolist() == [2, 2, 2]  # run-008 has no val loss
    timed = query.fetch_metrics(runs="run-009", attributes=r"^training/", include_time="absolute", store=root)
    assert list(timed.columns) == [
        ("training/train/loss", "value"),
        ("training/train/loss", "absolute_time"),
        ("training/val/loss", "value"),
        ("training/val/loss", "absolute_time"),
    ]
    assert timed[("training/train/loss", "absolute_time")].notna().all()
    assert timed[("training/val/loss", "value")].isna().sum() == 2  # logged at steps 1, 3, 4 of 0..4
    assert query.fetch_metrics(runs="run-009", attributes=r"^nothing", store=root).empty


def test_fetch_metrics_with_a_filter(model: Model) -> None:
    frame = query.fetch_metrics(
        filter="last(training/val/loss) < 0.3",
        attributes=["training/val/loss"],
        format="long",
        store=model.root,
    )
    heads = {
        e
        for e, h in model.heads.items()
        if h not in TRASHED and _cmp(_last(model, h, "training/val/loss"), lambda v: v < 0.3)
    }
    assert set(frame["experiment"]) == heads


def test_fetch_series_reads_string_series(model: Model) -> None:
    long = query.fetch_series(runs=r"^run-0[0-2]0$", attributes=["notes"], format="long", store=model.root)
    assert list(zip(long["run"], long["step"], long["value"])) == [
        (rid, s, v) for rid in ("run-000", "run-010", "run-020") for s, v in model.strings[rid]["notes"]
    ]
    wide = query.fetch_series(runs="run-010", store=model.root)
    assert wide["notes"].tolist() == ["epoch one of run-010", "done run-010"]


def test_download_files_writes_each_file_inside_the_destination(model: Model, tmp_path: Path) -> None:
    out = query.download_files(runs=r"^run-\d+$", destination=tmp_path / "dl", store=model.root)
    assert sorted(out["run"]) == sorted(set(model.files) - TRASHED)
    for rid, target in zip(out["run"], out["file"]):
        path = Path(target)
        assert path.read_bytes() == model.files[rid]
        assert path.is_relative_to(tmp_path / "dl") and path.name == "model.pt"


def test_import_naiad_query_does_not_import_pandas() -> None:
    code = "import sys, naiad, naiad.query; print('pandas' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
