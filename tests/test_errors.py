"""Bad input gets a clear error at the call site, and nothing of a rejected call is stored."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import naiad
from naiad.errors import (
    FieldNotFound,
    FieldTypeError,
    FieldValueError,
    ModeError,
    NaiadError,
    PathError,
    ReadOnlyFieldError,
    StepOrderError,
)


@pytest.fixture
def run(store: Path):  # type: ignore[no-untyped-def]
    r = naiad.Run(store=store)
    yield r
    r.close()


@pytest.mark.parametrize(
    "path, rule",
    [
        ("", "empty"),
        ("a//b", "empty segment"),
        ("a/b/", "empty segment"),
        ("a/ /b", "whitespace"),
        ("a/../b", "'..'"),
        ("./a", "'.'"),
        ("x" * 1025, "1024 bytes"),
        ("é" * 513, "1024 bytes"),
    ],
)
def test_invalid_paths_raise_path_error_naming_the_rule(run: naiad.Run, path: str, rule: str) -> None:
    with pytest.raises(PathError) as err:
        run[path] = 1
    assert rule in str(err.value)
    assert isinstance(err.value, ValueError)


def test_a_leading_slash_is_stripped(run: naiad.Run) -> None:
    run["/params/lr"] = 0.1
    assert run.exists("params/lr")
    assert run["params/lr"].fetch() == 0.1


def test_a_path_is_a_namespace_or_a_field_never_both(run: naiad.Run) -> None:
    run["a"] = 1
    with pytest.raises(PathError, match="'a' is an Integer field, not a namespace"):
        run["a/b"] = 2
    run["ns/x"] = 1
    with pytest.raises(PathError, match="at 'ns': it is a namespace holding other fields"):
        run["ns"] = 3


def test_type_lock_error_names_path_types_and_way_out(run: naiad.Run) -> None:
    run["lr"] = 0.1
    with pytest.raises(FieldTypeError) as err:
        run["lr"] = "fast"
    e = err.value
    assert (e.path, e.existing_type, e.attempted_type) == ("lr", "Float", "String")
    assert "delete it first" in str(e) and isinstance(e, TypeError)


@pytest.mark.parametrize(
    "first, second",
    [
        (1, 0.5),  # a float into an Integer is a type change, never truncation
        (True, 1),  # a bool is never an Integer
        (1, True),
        ("a", {"a"}),
    ],
)
def test_type_changes_are_refused(run: naiad.Run, first: object, second: object) -> None:
    run["f"] = first
    with pytest.raises(FieldTypeError):
        run["f"] = second
    assert run["f"].fetch() == first


def test_series_and_atoms_lock_against_each_other(run: naiad.Run) -> None:
    run.log_metrics({"loss": 0.5}, step=0)
    with pytest.raises(FieldTypeError, match="'loss' is a FloatSeries"):
        run["loss"] = 0.1
    with pytest.raises(FieldTypeError, match="string series"):
        run.log_string_series({"loss": "x"}, step=1)


def test_delete_then_write_another_type(run: naiad.Run) -> None:
    run["m"] = 0.9
    del run["m"]
    run["m"].upload(b"now a file")
    run["ns/a"] = 1
    run["ns/b"] = 2
    run.pop("ns")
    run["ns"] = "a string now"
    assert run["m"].fetch()["size"] == 10 and run["ns"].fetch() == "a string now"
    with pytest.raises(FieldNotFound):
        del run["never"]


def test_unsupported_values_raise_with_the_cast_hint(run: naiad.Run) -> None:
    class Thing:
        def __str__(self) -> str:
            return "thing!"

    with pytest.raises(FieldValueError) as err:
        run["obj"] = Thing()
    assert "cast_unsupported=True" in str(err.value) and "stringify" in str(err.value)
    run.log_configs({"obj": Thing(), "none": None}, cast_unsupported=True)
    run["wrapped"] = naiad.stringify(Thing())
    assert run["obj"].fetch() == "thing!" and run["none"].fetch() == "None"
    assert run["wrapped"].fetch() == "thing!"


def test_out_of_range_and_oversized_values(run: naiad.Run) -> None:
    with pytest.raises(FieldValueError, match="int64"):
        run["big"] = 2**63
    with pytest.raises(FieldValueError, match="65536 bytes"):
        run["long"] = "x" * (64 * 1024 + 1)
    with pytest.raises(FieldValueError, match="too large for a float64"):
        run.log_metrics({"m": 10**400}, step=0)
    assert not run.exists("big") and not run.exists("long") and not run.exists("m")


def test_a_call_is_validated_as_a_whole(run: naiad.Run) -> None:
    with pytest.raises(FieldValueError):
        run.log_metrics({"good": 1.0, "bad": "text"}, step=0)
    with pytest.raises(PathError):
        run.log_configs({"ok": 1, "a//b": 2})
    with pytest.raises(FieldValueError):
        run["params"] = {"lr": 0.1, "model": object()}
    run.wait()
    assert run.fetch().keys() == {"sys"}


def test_step_order(run: naiad.Run) -> None:
    run.log_metrics({"loss": 0.5}, step=3)
    run.log_metrics({"loss": 0.5}, step=3)  # identical re-send: a no-op
    with pytest.raises(StepOrderError) as err:
        run.log_metrics({"loss": 0.4}, step=3)
    assert "Step 3 for 'loss' is not after the series' last step 3" in str(err.value)
    with pytest.raises(StepOrderError, match="last step 3"):
        run["loss"].append(0.1, step=2)
    for bad in (-1, math.nan, 1e12, math.inf, "1"):
        with pytest.raises(StepOrderError):
            run.log_metrics({"loss": 0.1}, step=bad)  # type: ignore[arg-type]
    run["loss"].append(0.2)  # omitted step: last step + 1
    assert run["loss"].fetch_values()["step"].tolist() == [3.0, 4.0]


def test_non_finite_floats_are_values_not_errors(run: naiad.Run) -> None:
    run.log_metrics({"loss": math.nan, "acc": math.inf}, step=0)
    assert math.isnan(run["loss"].fetch_last()) and run["acc"].fetch_last() == math.inf


def test_sys_fields_are_read_only_except_tags_group_tags_description(run: naiad.Run) -> None:
    with pytest.raises(ReadOnlyFieldError, match="sys/state"):
        run["sys/state"] = "inactive"
    with pytest.raises(ReadOnlyFieldError):
        run["sys/custom"] = 1
    with pytest.raises(ReadOnlyFieldError):
        del run["sys/id"]
    run["sys/description"] = "baseline"
    run["sys/tags"].add("x")
    run.add_tags(["g"], group_tags=True)
    assert run["sys/description"].fetch() == "baseline"
    assert run["sys/tags"].fetch() == {"x"} and run["sys/group_tags"].fetch() == {"g"}


def test_sys_name_is_writable_and_the_experiment_stays(tmp_path: Path) -> None:
    """Renaming a run (sys/name, its display name) leaves the experiment it belongs to alone."""
    with naiad.Run(experiment_name="seabird", run_id="r1", store=tmp_path) as run:
        run["sys/name"] = "seabird, lr 0.1"
    with naiad.Run(run_id="r1", store=tmp_path, mode="read-only") as back:
        assert back["sys/name"].fetch() == "seabird, lr 0.1"
        assert back["sys/experiment/name"].fetch() == "seabird"
    with naiad.Run(run_id="r2", store=tmp_path) as run, pytest.raises(naiad.FieldTypeError):
        run["sys/name"] = 3


def test_every_error_is_a_naiad_error_and_its_builtin() -> None:
    assert issubclass(PathError, ValueError) and issubclass(FieldTypeError, TypeError)
    assert issubclass(StepOrderError, ValueError) and issubclass(naiad.ForkParentNotFound, LookupError)
    assert issubclass(naiad.SchemaVersionError, naiad.StorageError)
    for cls in (
        PathError,
        FieldTypeError,
        FieldValueError,
        StepOrderError,
        ReadOnlyFieldError,
        ModeError,
        naiad.StorageError,
        naiad.RunNotFound,
    ):
        assert issubclass(cls, NaiadError)


def test_writing_to_a_closed_run_is_an_error(store: Path) -> None:
    run = naiad.Run(store=store)
    run.log_metrics({"a": 1.0}, step=0)
    run.close()
    with pytest.raises(ModeError, match="closed"):
        run.log_metrics({"a": 2.0}, step=1)


def test_warn_policy_drops_the_bad_point_and_counts_it(store: Path) -> None:
    run = naiad.Run(store=store, on_error="warn")
    with pytest.warns(naiad.NaiadWarning, match="'bad'"):
        run.log_metrics({"good": 1.0, "bad": "text"}, step=0)
    run.close()
    back = naiad.Run(run_id=run.run_id, store=store, mode="read-only")
    assert back["good"].fetch_last() == 1.0 and not back.exists("bad")
    assert back["sys/diagnostics/dropped"].fetch() == 1


def test_a_dropped_value_is_warned_at_the_users_line(store: Path) -> None:
    """The warning names the line of the user's script, not a line inside naiad, however deep
    the value sits (a dict, a handle, the Neptune layer)."""
    from naiad import neptune

    run = naiad.Run(store=store, on_error="warn")
    nrun = neptune.init_run(project="ws/p", store=store)
    calls = [
        lambda: run.log_metrics({"bad": "text"}, step=0),
        lambda: run.__setitem__("params", {"lr": 0.1, "bad": object()}),
        lambda: run["series"].append(object()),
        lambda: nrun.__setitem__("params", {"lr": 0.1, "bad": object()}),
        lambda: nrun["series"].append({"a": 1.0, "b": object()}),
    ]
    for call in calls:
        with pytest.warns(Warning) as caught:
            call()
        assert [Path(w.filename).name for w in caught] == [Path(__file__).name]
    run.close()
    nrun.stop()
