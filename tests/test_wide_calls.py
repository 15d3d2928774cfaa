"""A call of many keys (checked in bulk) stores and refuses exactly what a small call does."""

from __future__ import annotations

import math
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from _downgrade import sqlite_back_to

import naiad
from naiad.errors import FieldTypeError, PathError, ReadOnlyFieldError, StepOrderError

pytestmark = pytest.mark.backends("sqlite", "postgres")

N = 600  # keys of a wide call: over the size from which naiad checks a call in bulk


def reader(run: naiad.Run, store: Path | str) -> naiad.Run:
    run.close()
    return naiad.Run(run_id=run.run_id, store=store, mode="read-only")


@pytest.mark.backends("sqlite", "postgres", "http")
def test_wide_configs_round_trip_every_kind_of_value_exactly(store: Path | str) -> None:
    nan = struct.unpack("<d", bytes.fromhex("0100000000f8ff7f"))[0]  # a NaN with a payload
    values: dict[str, object] = {f"f{i}": i / 7 for i in range(N)}
    values |= {"nan": nan, "inf": -math.inf, "plus": math.inf, "yes": True}
    values |= {"big": 2**63 - 1, "small": -(2**63)}
    values |= {"text": "héllo ✓", "ascii": "x" * 65536, "none_nested": 0}
    run = naiad.Run(store=store)
    run["params/kept"] = 1.5  # a Float already there: an int for it is widened, as in a small call
    run.log_configs({"params": {**values, "kept": 2}, "top": {"a": {"b": 1}}}, flatten=True)
    back = reader(run, store)
    assert struct.pack("<d", back["params/nan"].fetch()) == struct.pack("<d", nan)
    assert back["params/inf"].fetch() == -math.inf and back["params/plus"].fetch() == math.inf
    assert back["params/big"].fetch() == 2**63 - 1 and back["params/small"].fetch() == -(2**63)
    assert back["params/yes"].fetch() is True and back["params/text"].fetch() == "héllo ✓"
    assert back["params/ascii"].fetch() == "x" * 65536
    assert [back[f"params/f{i}"].fetch() for i in range(N)] == [i / 7 for i in range(N)]
    kept = back["params/kept"].fetch()
    assert kept == 2.0 and type(kept) is float
    assert back["top/a/b"].fetch() == 1
    assert set(back.get_structure()["params"]) >= set(values)


@pytest.mark.parametrize(
    ("bad", "error", "names"),
    [
        ({"a//b": 1}, PathError, "a//b"),
        ({"a/./b": 1}, PathError, "'.'"),
        ({"a/ /b": 1}, PathError, "whitespace"),
        ({"k3/x": 1}, PathError, "k3"),  # a field and a field under it in one call
        ({"sys/state": "x"}, ReadOnlyFieldError, "sys/state"),
        ({"taken": "text"}, FieldTypeError, "taken"),
        ({"taken/under": 1}, PathError, "taken"),
        ({"k9": 2**63}, Exception, "int64"),
        ({"k9": "\ud800"}, Exception, "surrogate"),
        ({"k9": "y" * 65537}, Exception, "65537"),
        ({"k9": object()}, Exception, "cast_unsupported"),
    ],
)
def test_a_wide_configs_call_with_one_bad_key_raises_what_a_small_one_does_and_stores_nothing(
    store: Path | str, bad: dict[str, object], error: type[Exception], names: str
) -> None:
    run = naiad.Run(store=store)
    run["taken"] = 1.0
    data = {f"k{i}": i for i in range(N)}
    data.update(bad)
    with pytest.raises(error, match=names.replace("(", r"\(")):
        run.log_configs(data, flatten=True)
    back = reader(run, store)
    assert not back.exists("k0") and not back.exists("k599")


def test_wide_metrics_keep_step_order_resends_and_type_locks(store: Path | str) -> None:
    run = naiad.Run(store=store)
    keys = [f"train/m{i}" for i in range(N)]
    run.log_metrics(dict.fromkeys(keys, 0.5), step=1)
    run.log_metrics({k: float(i) for i, k in enumerate(keys)}, step=2)  # the fast path of a known group
    grown = {**{k: 3.0 for k in keys}, "train/new": 3}  # known series and a new one, an int widened
    run.log_metrics(grown, step=3)
    run.log_metrics(grown, step=3)  # the same points again: a no-op
    with pytest.raises(StepOrderError, match="train/m0"):
        run.log_metrics({**{k: 9.0 for k in keys}, "train/new": 9.0}, step=2)
    run["atom"] = 1.0
    with pytest.raises(FieldTypeError, match="atom"):
        run.log_metrics({**{k: 4.0 for k in keys}, "atom": 4.0}, step=4)
    back = reader(run, store)
    m7 = back["train/m7"].fetch_values()
    assert list(m7["step"]) == [1.0, 2.0, 3.0] and list(m7["value"]) == [0.5, 7.0, 3.0]
    new = back["train/new"].fetch_values()
    assert list(new["step"]) == [3.0] and list(new["value"]) == [3.0]


def test_wide_metrics_under_warn_drop_and_count_the_bad_values_only(store: Path | str) -> None:
    run = naiad.Run(store=store, on_error="warn")
    data: dict[str, object] = {f"m{i}": float(i) for i in range(N)}
    data["m5"] = "five"
    with pytest.warns(naiad.NaiadWarning, match="m5"):
        run.log_metrics(data, step=1)
    assert run.dropped == 1
    back = reader(run, store)
    assert back["m4"].fetch_last() == 4.0 and not back.exists("m5")


WIDE = 2_500  # keys of one step: over the size from which the writer queues them as one op


@pytest.mark.backends("sqlite", "postgres", "http")
def test_a_step_of_many_new_series_reads_back_exactly_through_every_reader(store: Path | str) -> None:
    """One wide step makes thousands of one-point series (stored in bulk); every reader sees
    each point: values, last values, charts, a fork's inheritance; a later step extends them."""
    nan = struct.unpack("<d", bytes.fromhex("0100000000f8ff7f"))[0]
    first = {f"wide/m{i}": i / 3 for i in range(WIDE)} | {"wide/nan": nan, "wide/inf": -math.inf}
    with naiad.Run(run_id="parent", experiment_name="e", store=store) as run:
        run.log_metrics(first, step=1)
    with naiad.Run(
        run_id="child", experiment_name="e", store=store, fork_run_id="parent", fork_step=1
    ) as child:
        child.log_metrics({"wide/m7": 70.0}, step=2)
    back = naiad.Run(run_id="parent", store=store, mode="read-only")
    m5 = back["wide/m5"].fetch_values()
    assert list(m5["step"]) == [1.0] and list(m5["value"]) == [5 / 3] and len(m5["timestamp"]) == 1
    assert back["wide/m2499"].fetch_last() == 2499 / 3
    assert struct.pack("<d", back["wide/nan"].fetch_values()["value"][0]) == struct.pack("<d", nan)
    assert back["wide/inf"].fetch_last() == -math.inf
    kid = naiad.Run(run_id="child", store=store, mode="read-only")
    inherited = kid["wide/m7"].fetch_values(lineage_to_the_root=True)
    assert list(inherited["step"]) == [1.0, 2.0] and list(inherited["value"]) == [7 / 3, 70.0]
    assert kid["wide/m8"].fetch_values(lineage_to_the_root=True)["value"].tolist() == [8 / 3]
    back.close()
    kid.close()
    with naiad.Run(run_id="parent", store=store) as run:  # resumed, a later step: each series grows
        run.log_metrics({k: 1.0 for k in first}, step=2)
        run.log_metrics({k: 2.0 for k in first}, step=3)
    back = naiad.Run(run_id="parent", store=store, mode="read-only")
    m9 = back["wide/m9"].fetch_values()
    assert list(m9["step"]) == [1.0, 2.0, 3.0] and list(m9["value"]) == [3.0, 1.0, 2.0]
    assert back["wide/nan"].fetch_values()["value"].tolist()[1:] == [1.0, 2.0]
    back.close()


@pytest.mark.backends("sqlite", "postgres", "http")
def test_a_wide_step_over_series_another_process_made_keeps_their_type_and_order(
    store: Path | str,
) -> None:
    """The bulk write of a wide step meets paths another writer created meanwhile: a path of
    another type keeps it (reported), a series already past the step keeps its points, and
    every other path is stored."""
    keys = [f"m{i}" for i in range(WIDE)]
    run = naiad.Run(run_id="r", store=store)
    other = naiad.Run(run_id="r", store=store)
    other["m3"] = "text"
    other.log_metrics({"m4": 40.0}, step=5)
    other.wait()
    with pytest.warns(naiad.NaiadWarning) as caught:
        run.log_metrics(dict.fromkeys(keys, 1.0), step=2)
        run.wait()
    said = " ".join(str(w.message) for w in caught)
    assert "'m3'" in said and "'m4'" in said
    other.close()
    back = reader(run, store)
    assert back["m3"].fetch() == "text"
    assert back["m4"].fetch_values()["value"].tolist() == [40.0]
    assert back["m0"].fetch_last() == 1.0 and back["m2499"].fetch_last() == 1.0


@pytest.mark.backends("sqlite")
def test_a_store_of_schema_6_upgrades_and_its_series_take_wide_steps(store: Path) -> None:
    """Schema 7 keeps a series' first point in its field row; a store of schema 6 (every point
    in chunks) opens upgraded, reads the same, and its series grow by wide steps."""
    keys = [f"m{i}" for i in range(WIDE)]
    with naiad.Run(run_id="old", store=store) as run:
        run.log_metrics({k: float(i) for i, k in enumerate(keys)}, step=1)
    sqlite_back_to(store / "naiad.db", 6)
    assert sqlite3.connect(store / "naiad.db").execute("PRAGMA user_version").fetchone()[0] == 6
    with naiad.Run(run_id="old", store=store) as run:
        assert run["m5"].fetch_values()["value"].tolist() == [5.0]
        run.log_metrics(dict.fromkeys(keys, 0.25), step=2)
    back = naiad.Run(run_id="old", store=store, mode="read-only")
    assert back["m5"].fetch_values()["value"].tolist() == [5.0, 0.25]
    assert back["m2499"].fetch_values()["step"].tolist() == [1.0, 2.0]
    back.close()


@pytest.mark.backends("sqlite")
def test_the_users_own_gc_settings_survive_a_wide_call_being_committed(store: Path | str) -> None:
    """naiad pauses the cyclic collector while a wide call commits; a gc.disable() or
    gc.set_threshold() the user makes meanwhile is theirs, and stays once naiad is done."""
    import gc

    before = gc.get_threshold()
    try:
        with naiad.Run(store=store) as run:
            run.log_configs({f"p{i}": i for i in range(100_000)})  # commits on the writer thread
            gc.disable()  # the user's choice, made while that commit is likely still running
            run.wait()
            assert not gc.isenabled()
            gc.enable()
            run.log_configs({f"q{i}": i for i in range(100_000)})
            gc.set_threshold(5000, 20, 20)
            run.wait()
            assert gc.isenabled() and gc.get_threshold() == (5000, 20, 20)
        assert gc.isenabled() and gc.get_threshold() == (5000, 20, 20)
    finally:
        gc.enable()
        gc.set_threshold(*before)


@pytest.mark.backends("sqlite", "postgres")
def test_an_offline_wide_step_syncs_every_point(store: Path | str) -> None:
    """An offline run's journal keeps a wide step's series as the embedded store does (each
    point in its field row); `naiad sync` delivers every point to the store."""
    run = naiad.Run(store=store, run_id="off", mode="offline")
    run.log_metrics({f"m{i}": i / 4 for i in range(WIDE)}, step=3)
    run.close()
    out = subprocess.run(
        [sys.executable, "-m", "naiad._cli", "sync", str(run.store_location), "--store", str(store)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    back = naiad.Run(run_id="off", store=store, mode="read-only")
    assert back["m2499"].fetch_values()[["step", "value"]].values.tolist() == [[3.0, 2499 / 4]]
    assert back["m0"].fetch_last() == 0.0
    back.close()
