"""The layer's own rules: neptune-scale's argument checks, its error policy, and its imports."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import naiad
from naiad import neptune_scale
from naiad.neptune_scale import Run
from naiad.neptune_scale import exceptions as nx
from naiad.neptune_scale.projects import create_project, list_projects
from naiad.neptune_scale.types import File, Histogram


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "store"
    monkeypatch.setenv("NAIAD_STORE", str(store))
    monkeypatch.setenv("NEPTUNE_PROJECT", "ws/proj")
    monkeypatch.delenv("NEPTUNE_MODE", raising=False)
    monkeypatch.delenv("NEPTUNE_API_TOKEN", raising=False)
    return store


def _read(store: Path, run_id: str, project: str = "ws/proj") -> dict[str, Any]:
    run = naiad.Run(run_id=run_id, project=project, store=store, mode="read-only")
    try:
        return run.fetch()
    finally:
        run.close()


def test_import_loads_neither_numpy_torch_nor_the_real_client() -> None:
    code = (
        "import sys, json, naiad.neptune_scale, naiad.neptune_scale.types, naiad.neptune_scale.api.run; "
        "print(json.dumps([m for m in ('numpy', 'torch', 'pandas', 'neptune_scale') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_public_names_and_submodules_match_neptune_scale() -> None:
    assert neptune_scale.__all__ == sorted(neptune_scale.__all__)
    from naiad.neptune_scale.api.run import Run as ApiRun
    from naiad.neptune_scale.api.run import SourceTrackingConfig
    from naiad.neptune_scale.util import Daemon, get_logger
    from naiad.neptune_scale.util.daemon import Daemon as DaemonToo
    from naiad.neptune_scale.util.logger import get_logger as g2

    assert DaemonToo is Daemon and g2 is get_logger

    assert ApiRun is Run and SourceTrackingConfig is neptune_scale.SourceTrackingConfig
    assert get_logger().name == "naiad.neptune_scale" and issubclass(Daemon, object)
    assert issubclass(nx.NeptuneSeriesStepNonIncreasing, nx.NeptuneScaleError)


def test_run_url_points_at_the_port_naiad_ui_serves(env: Path) -> None:
    from naiad._ui import DEFAULT_PORT

    with Run(run_id="a b/c", experiment_name="exp") as run:
        assert run.get_run_url() == f"http://127.0.0.1:{DEFAULT_PORT}/#/run/a%20b%2Fc"
        assert run.get_experiment_url().startswith(f"http://127.0.0.1:{DEFAULT_PORT}/#/runs?filter=")
    with Run(run_id="no-exp") as run, pytest.raises(ValueError, match="experiment_name"):
        run.get_experiment_url()


def test_no_api_token_is_needed_and_project_comes_from_neptune_project(env: Path) -> None:
    with Run(run_id="r1") as run:
        assert run._project == "ws/proj" and run._run_id == "r1" and run._fork_step is None
    with Run(run_id="r2", project="other/space", api_token="anything") as run:
        run.log_configs({"x": 1})
    assert _read(env, "r2", project="other/space")["x"] == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"run_id": 5}, TypeError, "run_id"),
        ({"fork_run_id": "a"}, ValueError, "must be used together"),
        ({"async_lag_threshold": 1.0}, ValueError, "on_async_lag_callback"),
        ({"mode": "read-only"}, ValueError, "mode must be one of"),
        ({"experiment_name": ""}, ValueError, "must not be empty"),
        ({"enable_console_log_capture": "yes"}, TypeError, "enable_console_log_capture"),
        ({"on_error_callback": 3}, TypeError, "on_error_callback"),
    ],
)
def test_bad_constructor_arguments_fail_as_in_neptune_scale(
    env: Path, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Run(**kwargs)


def test_every_neptune_scale_argument_is_accepted(env: Path, caplog: pytest.LogCaptureFixture) -> None:
    from datetime import datetime, timezone

    created = datetime(2025, 3, 1, tzinfo=timezone.utc)
    with caplog.at_level(logging.WARNING, "naiad.neptune_scale"):
        run = Run(
            run_id="all-args",
            project="ws/proj",
            api_token="t",
            mode="async",
            experiment_name="e",
            creation_time=created,
            log_directory="logs",
            max_queue_size=10,
            async_lag_threshold=5.0,
            on_async_lag_callback=lambda: None,
            on_queue_full_callback=lambda e, t: None,
            on_network_error_callback=lambda e, t: None,
            on_error_callback=lambda e, t: None,
            on_warning_callback=lambda e, t: None,
            enable_console_log_capture=False,
            runtime_namespace="rt",
            source_tracking_config=None,
            inherit_configs=False,
            resume=True,
            system_namespace="sys2",
            some_future_flag=1,
        )
    run.close()
    assert "some_future_flag" in caplog.text and "resume" not in caplog.text
    assert _read(env, "all-args")["sys"]["creation_time"] == created


def test_fractional_fork_step_is_refused_with_the_reason(env: Path) -> None:
    with Run(run_id="parent") as parent:
        parent.log_metrics({"m": 1.0}, step=1)
    with pytest.raises(ValueError, match="whole number"):
        Run(run_id="child", fork_run_id="parent", fork_step=1.5)


def test_step_checks_come_before_anything_is_stored(env: Path) -> None:
    with Run(run_id="steps") as run:
        with pytest.raises(TypeError, match="step"):
            run.log_string_series({"s": "x"}, step=None)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="between 0 and"):
            run.log_metrics({"m": 1.0}, step=10**12)
        with pytest.raises(TypeError, match="step"):
            run.log_histograms({"h": Histogram(bin_edges=[0, 1], counts=[1])}, step="1")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="mapping-like"):
            run.log_configs([("a", 1)])
        with pytest.raises(TypeError, match="timestamp"):
            run.log_metrics({"m": 1.0}, step=1, timestamp="now")  # type: ignore[arg-type]
        run.log_metrics({"m": 1.0}, step=None)  # metrics may take the next step
    assert _read(env, "steps")["m"] == 1.0


def test_previews_are_skipped_and_their_arguments_checked(
    env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Run(run_id="preview") as run:
        with pytest.raises(ValueError, match="preview_completion"):
            run.log_metrics({"m": 1.0}, step=1, preview_completion=0.5)
        with caplog.at_level(logging.WARNING, "naiad.neptune_scale"):
            run.log_metrics({"m": 0.5}, step=1, preview=True, preview_completion=0.3)
            run.log_metrics({"m": 0.7}, step=1, preview=True, preview_completion=0.6)
        run.log_metrics({"m": 0.9}, step=1)
    assert [r.getMessage() for r in caplog.records] == [
        "naiad stores no metric previews: preview=True points are skipped."
    ]
    series = naiad.Run(run_id="preview", project="ws/proj", store=env, mode="read-only")
    try:
        assert series["m"].fetch_values()["value"].tolist() == [0.9]
    finally:
        series.close()


def test_a_failing_callback_never_reaches_the_training_loop(
    env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(exc: BaseException, last_seen: float | None) -> None:
        raise RuntimeError("bug in my callback")

    with (
        caplog.at_level(logging.ERROR, "naiad.neptune_scale"),
        Run(run_id="cb", on_error_callback=broken) as run,
    ):
        run.log_metrics({"m": 1.0}, step=2)
        run.log_metrics({"m": 2.0}, step=1)
        run.log_metrics({"m": 3.0}, step=3)
    assert "bug in my callback" in caplog.text
    assert _read(env, "cb")["m"] == 3.0


def test_terminate_from_the_callback_ignores_the_rest(env: Path) -> None:
    errors: list[BaseException] = []

    def stop(exc: BaseException, last_seen: float | None) -> None:
        errors.append(exc)
        run.terminate()

    run = Run(run_id="term", on_error_callback=stop)
    run.log_configs({"n": 1})
    run.log_configs({"n": "text", "other": 2})
    run.log_metrics({"m": 1.0}, step=1)  # after terminate: ignored
    assert run.wait_for_processing() is True
    run.close()
    assert [type(e) for e in errors] == [nx.NeptuneAttributeTypeMismatch]
    assert isinstance(errors[0].__cause__, naiad.FieldTypeError)
    data = _read(env, "term")
    assert data["n"] == 1 and "m" not in data
    assert "other" not in data  # the call stopped at the callback's terminate()


def test_the_layer_keeps_neptune_policy_when_naiad_is_set_to_warn(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAIAD_ON_ERROR", "warn")
    seen: list[type[BaseException]] = []
    with Run(run_id="warned", on_error_callback=lambda e, t: seen.append(type(e))) as run:
        run.log_metrics({"m": 1.0}, step=5)
        run.log_metrics({"m": 1.5, "k": 1.0}, step=4)
    assert seen == [nx.NeptuneSeriesStepNonIncreasing]
    assert _read(env, "warned")["k"] == 1.0


def test_files_from_file_objects_and_destination_names(env: Path, tmp_path: Path) -> None:
    import io

    with Run(run_id="files") as run:
        run.assign_files(
            {
                "a": File(source=io.BytesIO(b"stream"), destination="artifacts/weights.bin"),
                "b": File(source=b"x", mime_type="application/x-thing"),
                "c": File(source=12345),
            }
        )
    data = _read(env, "files")
    assert data["a"]["name"] == "weights.bin" and data["a"]["size"] == 6
    assert data["b"]["mime"] == "application/x-thing"
    assert "c" not in data


def test_a_missing_file_is_skipped_with_a_logged_warning(env: Path, caplog: pytest.LogCaptureFixture) -> None:
    """As neptune-scale did: the missing file is skipped and logged; the call's other files are kept."""
    with caplog.at_level(logging.WARNING, "naiad.neptune_scale"), Run(run_id="gone") as run:
        run.assign_files({"a": "/does/not/exist.bin", "b": b"kept"})
        run.log_files({"s": File(source="/does/not/exist.png"), "t": b"kept"}, step=1)
    data = _read(env, "gone")
    assert "a" not in data and data["b"]["size"] == 4
    assert "s" not in data and "t" in data
    assert caplog.text.count("File not found: /does/not/exist") == 2


def test_create_project_and_fail_if_exists(env: Path) -> None:
    assert create_project("proj", workspace="ws") == "ws/proj"
    assert list_projects() == []
    with Run(run_id="first"):
        pass
    assert list_projects() == ["ws/proj"]
    with pytest.raises(nx.NeptuneProjectAlreadyExists):
        create_project("ws/proj", fail_if_exists=True)
    with pytest.raises(nx.NeptuneProjectInvalidName):
        create_project("a/b/c")


def test_neptune_log_failure_action_raise_turns_drops_into_errors(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEPTUNE_LOG_FAILURE_ACTION", "raise")
    with Run(run_id="strict") as run:
        with pytest.raises(nx.NeptuneUnableToLogData, match="Config values"):
            run.log_configs({"ok": 1, "bad": None})
        run.log_configs({"ok": 2})
    assert _read(env, "strict")["ok"] == 2


def test_the_readme_example_runs_as_written(env: Path) -> None:
    """The README's neptune_scale snippet forks, logs and reads back as it says."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### neptune_scale", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    with naiad.Run(run_id="seabird-1", experiment_name="seabird-lr", project="ws/proj", store=env) as parent:
        for step in range(0, 700, 100):
            parent.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    exec(compile(code, "README.md", "exec"), {})
    child = naiad.Run(run_id="seabird-3", project="ws/proj", store=env, mode="read-only")
    try:
        steps = child["train/loss"].fetch_values()["step"].tolist()
        data = child.fetch()
    finally:
        child.close()
    assert steps == [0, 100, 200, 300, 400, 500, 600, 601]
    assert data["optimizer"] == {"name": "adamw", "lr": 3e-4}
    assert data["layers"]["0"]["grad"]["counts"] == [5, 3]
    assert data["model"]["card"]["mime"] == "text/markdown"
    assert data["sys"]["forking"]["parent"] == "seabird-1"


def test_histogram_checks_drop_what_neptune_refused(env: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "naiad.neptune_scale"), Run(run_id="hist") as run:
        run.log_histograms(
            {
                "fractional": Histogram(bin_edges=[0, 1], counts=[1.5]),
                "nan_edge": Histogram(bin_edges=[0, float("nan")], counts=[1]),
                "decreasing": Histogram(bin_edges=[1, 0], counts=[1]),
                "both": Histogram(bin_edges=[0, 1], counts=[1], densities=[1.0]),
                "too_many": Histogram(bin_edges=list(range(600)), counts=[1] * 599),
                "not_a_histogram": [1, 2],
                "whole_floats": Histogram(bin_edges=[0, 1, 2], counts=[2.0, 3.0]),
            },
            step=0,
        )
    data = _read(env, "hist")
    assert data["whole_floats"]["counts"] == [2, 3]
    assert not {"fractional", "nan_edge", "decreasing", "both", "too_many", "not_a_histogram"} & set(data)
    assert caplog.text.count("Dropping value.") == 6


def test_paths_that_are_not_strings_are_dropped(env: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "naiad.neptune_scale"), Run(run_id="keys") as run:
        run.log_metrics({1: 0.5, "ok/metric": 0.25}, step=0)  # type: ignore[dict-item]
        run.log_configs({2: "x", "ok/config": "y"})
        run.log_string_series({3: "x", "ok/text": "z"}, step=0)  # type: ignore[dict-item]
    data = _read(env, "keys")
    assert data["ok"] == {"metric": 0.25, "config": "y", "text": "z"}
    assert not {"1", "2", "3"} & set(data)
    assert caplog.text.count("Field paths must be strings") == 3
