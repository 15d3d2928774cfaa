"""Every field type round-trips exactly through the real SQLite store, also in a new process."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import naiad

# the same behaviour on every store backend (tests/conftest.py)
pytestmark = pytest.mark.backends()

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
any_float = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [-0.0, 0.0, math.inf, -math.inf, struct.unpack("<d", bytes.fromhex("0100000000f8ff7f"))[0]]
)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def reopen(run: naiad.Run, store: Path) -> naiad.Run:
    run.close()
    return naiad.Run(run_id=run.run_id, store=store, mode="read-only")


@SETTINGS
@given(value=any_float)
def test_float_fields_round_trip_bit_exact(tmp_path: Path, value: float) -> None:
    store = tmp_path / "s"
    run = naiad.Run(store=store)
    run["x"] = value
    assert bits(reopen(run, store)["x"].fetch()) == bits(value)


@SETTINGS
@given(value=st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integer_fields_round_trip_over_the_whole_int64_range(tmp_path: Path, value: int) -> None:
    store = tmp_path / "s"
    run = naiad.Run(store=store)
    run["n"] = value
    back = reopen(run, store)["n"].fetch()
    assert back == value and type(back) is int


@SETTINGS
@given(value=text, flag=st.booleans())
def test_string_and_boolean_fields_round_trip(tmp_path: Path, value: str, flag: bool) -> None:
    store = tmp_path / "s"
    run = naiad.Run(store=store)
    run["s"] = value
    run["b"] = flag
    back = reopen(run, store)
    assert back["s"].fetch() == value
    assert back["b"].fetch() is flag


@SETTINGS
@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc)
    )
)
def test_datetimes_round_trip_in_utc(tmp_path: Path, moment: datetime) -> None:
    store = tmp_path / "s"
    run = naiad.Run(store=store)
    run["t"] = moment
    assert reopen(run, store)["t"].fetch() == moment


def test_naive_datetimes_are_local_time(store: Path) -> None:
    naive = datetime(2026, 5, 1, 12, 30)
    run = naiad.Run(store=store)
    run["t"] = naive
    assert reopen(run, store)["t"].fetch() == naive.astimezone(timezone.utc)


@SETTINGS
@given(items=st.sets(text, max_size=8))
def test_string_sets_add_remove_clear(tmp_path: Path, items: set[str]) -> None:
    store = tmp_path / "s"
    run = naiad.Run(store=store)
    run["set"] = items
    run["set"].add(["extra", "more"])
    run["set"].remove("more")
    run["other"] = {"a"}
    run["other"].clear()
    back = reopen(run, store)
    assert back["set"].fetch() == items | {"extra"}
    assert back["other"].fetch() == set()


@SETTINGS
@given(
    values=st.lists(any_float, min_size=1, max_size=50),
    ints=st.lists(st.integers(-(2**53), 2**53), max_size=5),
)
def test_float_series_keep_every_point_bit_exact(
    tmp_path: Path, values: list[float], ints: list[int]
) -> None:
    store = tmp_path / "s"
    run = naiad.Run(store=store)
    for i, v in enumerate(values):
        run["loss"].append(v, step=i)
    run["loss"].extend(ints)  # ints are widened; omitted steps continue from the last one
    df = reopen(run, store)["loss"].fetch_values()
    assert [bits(v) for v in df["value"]] == [bits(float(v)) for v in values + ints]
    assert df["step"].tolist() == list(range(len(values) + len(ints)))


@SETTINGS
@given(lines=st.lists(text, min_size=1, max_size=20))
def test_string_series_round_trip(tmp_path: Path, lines: list[str]) -> None:
    store = tmp_path / "s"
    run = naiad.Run(store=store)
    for i, line in enumerate(lines):
        run.log_string_series({"notes": line}, step=i * 0.5)
    df = reopen(run, store)["notes"].fetch_values()
    assert df["value"].tolist() == lines
    assert df["step"].tolist() == [i * 0.5 for i in range(len(lines))]


def test_fractional_steps_have_microstep_resolution(store: Path) -> None:
    run = naiad.Run(store=store)
    run.log_metrics({"m": 1.0}, step=0.000001)
    run.log_metrics({"m": 2.0}, step=0.000002)
    run.log_metrics({"m": 3.0}, step=999_999_999_999.5)
    assert reopen(run, store)["m"].fetch_values()["step"].tolist() == [1e-6, 2e-6, 999_999_999_999.5]


def test_histograms_round_trip(store: Path) -> None:
    run = naiad.Run(store=store)
    run.log_histograms({"weights": naiad.Histogram(bin_edges=[0, 1, 2], counts=[3, 4])}, step=1)
    run.log_histograms({"weights": naiad.Histogram(bin_edges=[0, 1], densities=[0.5])}, step=2)
    df = reopen(run, store)["weights"].fetch_values()
    assert df["value"].tolist() == [
        {"bin_edges": [0.0, 1.0, 2.0], "counts": [3, 4], "densities": None},
        {"bin_edges": [0.0, 1.0], "counts": None, "densities": [0.5]},
    ]


def test_numpy_and_torch_scalars_are_stored_as_python_values(store: Path) -> None:
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    run = naiad.Run(store=store)
    run["np_float"] = np.float32(0.5)
    run["np_int"] = np.int64(7)
    run["np_bool"] = np.bool_(True)
    run["torch_float"] = torch.tensor(0.25)
    run.log_metrics({"series": np.float64(1.5), "tseries": torch.tensor(2.5)}, step=0)
    back = reopen(run, store)
    assert back.fetch()["np_float"] == 0.5 and back["np_int"].fetch() == 7
    assert back["np_bool"].fetch() is True and back["torch_float"].fetch() == 0.25
    assert back["series"].fetch_last() == 1.5 and back["tseries"].fetch_last() == 2.5


def test_dicts_namespaces_and_dataclasses_become_namespaces(store: Path) -> None:
    import argparse
    import dataclasses

    @dataclasses.dataclass
    class Opt:
        name: str = "adam"
        lr: float = 0.01

    run = naiad.Run(store=store)
    run["params"] = {"batch_size": 64, "opt": Opt(), "args": argparse.Namespace(seed=3)}
    run.log_configs({"data": {"path": "/x", "shuffle": True}}, flatten=True)
    assert reopen(run, store).fetch()["params"] == {
        "batch_size": 64,
        "opt": {"name": "adam", "lr": 0.01},
        "args": {"seed": 3},
    }


def test_an_int_written_to_a_float_field_is_widened(store: Path) -> None:
    run = naiad.Run(store=store)
    run["lr"] = 0.5
    run["lr"] = 1
    value = reopen(run, store)["lr"].fetch()
    assert value == 1.0 and type(value) is float


READER = r"""
import json, struct, sys, naiad
run = naiad.Run(run_id=sys.argv[2], store=sys.argv[1], mode="read-only")
v = run.fetch()
loss = run["loss"].fetch_values()
print(json.dumps({
    "nan_bits": struct.pack("<d", v["nan"]).hex(), "negzero": struct.pack("<d", v["negzero"]).hex(),
    "inf": repr(v["inf"]), "big": v["big"], "small": v["small"], "flag": v["flag"],
    "text": v["text"], "when": v["when"].isoformat(), "tags": sorted(v["tags"]),
    "loss": [struct.pack("<d", x).hex() for x in loss["value"]], "steps": loss["step"].tolist(),
    "types": run.get_structure(),
}))
"""


def test_every_type_reads_back_identically_in_a_new_process(store: Path) -> None:
    nan_payload = struct.unpack("<d", bytes.fromhex("0100000000f8ff7f"))[0]
    moment = datetime(2026, 3, 5, 12, 0, tzinfo=timezone.utc) + timedelta(microseconds=7)
    with naiad.Run(store=store, run_id="r") as run:
        run["nan"] = nan_payload
        run["negzero"] = -0.0
        run["inf"] = -math.inf
        run["big"] = 2**63 - 1
        run["small"] = -(2**63)
        run["flag"] = False
        run["text"] = "naïve ☃ \x00 end"
        run["when"] = moment
        run["tags"] = {"b", "a"}
        run.log_metrics({"loss": nan_payload}, step=0)
        run.log_metrics({"loss": -0.0}, step=1)
    out = subprocess.run(
        [sys.executable, "-c", READER, str(store), "r"], capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout)
    assert got["nan_bits"] == "0100000000f8ff7f"
    assert got["negzero"] == struct.pack("<d", -0.0).hex()
    assert got["inf"] == "-inf" and got["big"] == 2**63 - 1 and got["small"] == -(2**63)
    assert got["flag"] is False and got["text"] == "naïve ☃ \x00 end"
    assert got["when"] == moment.isoformat() and got["tags"] == ["a", "b"]
    assert got["loss"] == ["0100000000f8ff7f", struct.pack("<d", -0.0).hex()]
    assert got["steps"] == [0.0, 1.0]
    assert got["types"]["loss"] == "FloatSeries" and got["types"]["when"] == "Datetime"


def test_fetching_a_namespace_gives_its_fields_as_a_nested_dict(store: Path) -> None:
    with naiad.Run(store=store) as run:
        run["params"] = {"lr": 0.1, "opt": {"name": "adam", "beta": 0.9}}
        run.log_metrics({"params/seen": 3.0}, step=1)
        run["paramsx"] = 1
        assert run["params"].fetch() == {"lr": 0.1, "opt": {"name": "adam", "beta": 0.9}, "seen": 3.0}
        assert run["params/opt"].fetch() == {"name": "adam", "beta": 0.9}
        with pytest.raises(naiad.errors.FieldNotFound, match="holds nothing"):
            run["param"].fetch()  # a prefix of a name is no namespace
