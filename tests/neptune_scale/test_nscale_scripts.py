"""neptune-scale scripts, imports rewritten to naiad.neptune_scale, store what Neptune stored."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from _nscale import PROJECT, Scripts

from naiad import query


def test_quickstart_stores_configs_metrics_tags_and_notes(scripts: Scripts) -> None:
    """The quickstart's configs, 50 metric steps, tags and string series read back as logged."""
    done = scripts.run("quickstart.py")
    assert done.stdout.strip() == "http://127.0.0.1:8765/#/run/quickstart-1"
    with scripts.stored("quickstart-1") as run:
        data = run.fetch()
        structure = run.get_structure()
    params = data["parameters"]
    assert params == {
        "learning_rate": 0.001,
        "batch_size": 64,
        "optimizer": "Adam",
        "use_amp": False,
        "layers": {"conv", "pool", "dense"},
    }
    assert structure["parameters"]["batch_size"] == "Integer"
    assert data["data"]["started_at"] == datetime(2025, 1, 2, 3, 4, 5).astimezone(timezone.utc)
    assert data["model"] == {"name": "resnet", "depth": 18, "input_size": "(3, 32, 32)"}
    assert data["sys"]["tags"] == {"quickstart"}
    assert data["sys"]["group_tags"] == {"group-a"}
    assert data["sys"]["experiment"]["name"] == "quickstart-experiment"
    assert data["sys"]["state"] == "inactive"
    loss = scripts.series("quickstart-1", "train/metrics/loss")
    assert [s for s, _ in loss] == list(range(1, 51))
    assert loss[-1][1] == pytest.approx(data["summary"]["final_loss"])
    assert [s for s, _ in scripts.series("quickstart-1", "eval/metrics/loss")] == [10, 20, 30, 40, 50]
    assert scripts.series("quickstart-1", "train/epoch")[-1] == (50, 5.0)  # ints widened to float
    notes = scripts.series("quickstart-1", "train/notes")
    assert notes[0] == (10, "epoch 1 done") and len(notes) == 5
    assert query.list_runs(project=PROJECT, store=scripts.store) == ["quickstart-1"]


def test_fork_run_id_and_fork_step_make_a_naiad_fork(scripts: Scripts) -> None:
    """The child inherits the parent's points up to fork_step and is the experiment's head."""
    done = scripts.run("forking.py")
    assert "child forked at 60 run id forking-child" in done.stdout
    with scripts.stored("forking-child") as child:
        data = child.fetch()
    assert data["sys"]["forking"]["parent"] == "forking-parent"
    assert data["sys"]["forking"]["step"] == 60
    assert data["sys"]["forking"]["depth"] == 1
    assert data["sys"]["experiment"]["is_head"] is True
    assert data["config"] == {"lr": 0.02, "algo": "SGD"}  # inherited configs, lr overridden
    assert data["sys"]["tags"] == {"parent"}
    stitched = scripts.series("forking-child", "metrics/train/loss")
    assert [s for s, _ in stitched] == list(range(120))
    assert stitched[60][1] == pytest.approx(math.exp(-0.01 * 60))
    assert stitched[61][1] == pytest.approx(math.exp(-0.02 * 61))
    own = scripts.series("forking-child", "metrics/train/loss", lineage=False)
    assert own[0][0] == 61
    evals = scripts.series("forking-child", "metrics/eval/loss")
    assert [s for s, _ in evals] == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]
    with scripts.stored("forking-parent") as parent:
        assert parent.fetch()["sys"]["experiment"]["is_head"] is False


def test_a_second_process_resumes_the_run(scripts: Scripts) -> None:
    """Same run_id: the series continues; the replayed step is a no-op, a step back is dropped."""
    scripts.run("resume.py", "--stop", "5")
    second = scripts.run("resume.py", "--start", "5", "--stop", "10")
    assert "NeptuneSeriesStepNonIncreasing" in second.stderr  # the step-back, reported
    loss = scripts.series("resumable-7", "train/loss")
    assert loss == [(float(s), pytest.approx(1.0 / (s + 1))) for s in range(10)]
    with scripts.stored("resumable-7") as run:
        data = run.fetch()
    assert data["sys"]["tags"] == {"first-attempt", "resumed"}
    assert data["config"]["epochs"] == 5
    assert data["status"]["last_step"] == 9
    assert query.list_runs(project=PROJECT, store=scripts.store) == ["resumable-7"]


def test_histograms_from_numpy_and_torch(scripts: Scripts) -> None:
    """Counts and densities from numpy, counts from torch.histogram; a malformed one is dropped."""
    pytest.importorskip("torch")
    done = scripts.run("histograms.py")
    assert "Dropping value." in done.stderr and "layers/bad" in done.stderr
    activations = scripts.series("histograms-1", "layers/0/activations")
    assert [s for s, _ in activations] == [0, 1, 2]
    first = activations[0][1]
    assert len(first["bin_edges"]) == 11 and sum(first["counts"]) == 64 * 16
    density = scripts.series("histograms-1", "layers/0/activation_density")[0][1]
    assert density["counts"] is None and len(density["densities"]) == 5
    widths = [b - a for a, b in zip(density["bin_edges"], density["bin_edges"][1:])]
    assert sum(d * w for d, w in zip(density["densities"], widths)) == pytest.approx(1.0)
    weights = scripts.series("histograms-1", "layers/0/weights")[2][1]
    assert sum(weights["counts"]) == 8 * 16 and len(weights["bin_edges"]) == 9
    with scripts.stored("histograms-1") as run:
        assert not run.exists("layers/bad")
        assert len(run["train/loss"].fetch_values()) == 3


def test_assign_files_and_log_files(scripts: Scripts, tmp_path: Path) -> None:
    """Files from paths and bytes keep content and MIME type; a missing file is skipped."""
    done = scripts.run("files.py")
    assert "Skipping file attribute `missing/file`" in done.stderr
    with scripts.stored("files-1") as run:
        data = run.fetch()
        assert not run.exists("missing/file")
        config = run["config/file"].download(tmp_path / "config.json")
        summary = run["model/summary"].download(tmp_path / "summary.txt")
        preds = run["predictions/val"].download(tmp_path / "preds")
        raw = run["predictions/raw"].fetch_values()
    assert Path(str(config)).read_text() == '{"lr": 0.01, "epochs": 3}'
    assert Path(str(summary)).read_bytes() == b"Linear(8 -> 1)\n"
    assert data["model"]["summary"]["mime"] == "text/plain"
    assert data["model"]["card"]["mime"] == "application/json"
    assert data["model"]["card"]["size"] == len('{"lr": 0.01, "epochs": 3}')  # measured, not size=999
    assert isinstance(preds, list) and len(preds) == 3
    assert [p.read_bytes() for p in sorted(preds)] == [
        (scripts.cwd / "outputs" / f"predictions_{e}.csv").read_bytes() for e in range(3)
    ]
    assert raw["step"].tolist() == [0, 1, 2]


def test_hpo_sweep_runs_share_a_group_tag(scripts: Scripts) -> None:
    """A sweep run and three trial runs; unsupported configs cast to strings; best values kept."""
    pytest.importorskip("torch")
    scripts.run("hpo_sweep.py")
    runs = query.list_runs(project=PROJECT, store=scripts.store, filter='sys/group_tags contains "sweep-42"')
    assert sorted(runs) == ["sweep-run", "trial-0", "trial-1", "trial-2"]
    with scripts.stored("sweep-run") as sweep:
        data = sweep.fetch()
    assert data["config"]["device"] == "cpu"
    assert data["config"]["input_size"] == "(1, 4, 4)"
    assert data["config"]["batch_size"] == 16
    assert data["best"]["parameters"]["lr"] in (0.025, 0.05, 0.075)
    assert 0.0 <= data["best"]["metrics"]["acc"] <= 1.0
    with scripts.stored("trial-2") as trial:
        t = trial.fetch()
    assert t["trial_num"] == 2 and t["parameters"]["lr"] == 0.075
    assert t["sys"]["tags"] == {"trial", "script"}
    assert [s for s, _ in scripts.series("trial-2", "metrics/batch/loss")] == list(range(6))
    assert [s for s, _ in scripts.series("trial-2", "epochs")] == [0, 1]


def test_gradient_norms_per_layer_and_experiment_url(scripts: Scripts) -> None:
    """Every parameter's gradient norm is a series at every step; the URL filters by experiment."""
    pytest.importorskip("torch")
    done = scripts.run("debug_gradients.py")
    url = done.stdout.splitlines()[0]
    assert url.startswith("http://127.0.0.1:8765/#/runs?filter=")
    assert "debugging-gradient-norms" in url
    assert "&detailsTab=metadata" in done.stdout
    with scripts.stored("debug-grad-1") as run:
        norms = run.get_structure()["debug"]["L2_grad_norm"]
        values = run["debug/L2_grad_norm/model.0.weight"].fetch_values()
    assert sorted(norms) == sorted(f"model.{i}.{p}" for i in (0, 2, 4, 6, 8) for p in ("weight", "bias"))
    assert set(norms.values()) == {"FloatSeries"}
    assert values["step"].tolist() == list(range(8))
    assert (values["value"] > 0).all()
    assert query.list_experiments(project=PROJECT, store=scripts.store) == ["debugging-gradient-norms"]


def test_dataclass_and_none_configs(scripts: Scripts) -> None:
    """log_configs(None) is a no-op; dataclasses flatten; numpy scalars keep their type."""
    done = scripts.run("dataclass_configs.py")
    with scripts.stored("dataclass-configs") as run:
        data = run.fetch()
        structure = run.get_structure()
    assert data["seed"] == 1234 and data["max_steps"] == 100
    assert data["output_dir"] == "checkpoints"
    assert data["optimizer"] == {"name": "adamw", "lr": 3e-4, "betas": "(0.9, 0.95)"}
    assert data["started"] == datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
    assert data["warmup"] == 10
    assert data["data"]["tokens"] == 1_000_000 and structure["data"]["tokens"] == "Integer"
    assert data["data"]["fraction"] == 0.5 and structure["data"]["fraction"] == "Float"
    assert data["data"]["name"] == "fineweb"
    assert "unsupported" not in data["data"] and "nested" not in data["data"]
    assert done.stderr.count("Dropping value.") == 2
    assert data["cast"] == {"none": "", "path": str(Path("a/b.txt"))}


def test_error_callback_gets_neptune_exceptions_and_training_goes_on(scripts: Scripts) -> None:
    """Out-of-order steps and type changes reach on_error_callback; the rest is stored."""
    done = scripts.run("error_callbacks.py")
    assert done.stdout.strip() == "SEEN step,step,type,type"
    assert "Dropping value. Metrics' values must be float or int" in done.stderr
    assert scripts.series("callbacks-1", "train/loss")[-2:] == [(4, 0.2), (6, 0.1)]
    assert scripts.series("callbacks-1", "train/acc")[-1] == (5, 0.95)
    assert scripts.series("callbacks-1", "train/new_metric") == [(2, 7.0)]
    with scripts.stored("callbacks-1") as run:
        data = run.fetch()
    assert data["params"] == {"batch_size": 32}
    assert "after" not in data


def test_logging_handler_and_console_capture_switches(scripts: Scripts) -> None:
    """Records at INFO and above go to the handler's series; console capture can be turned off."""
    scripts.run("logging_handler.py")
    assert [v for _, v in scripts.series("logging-1", "messages/info")] == [
        "Starting data preparation",
        "Data has 128 rows",
    ]
    with scripts.stored("logging-1") as run:
        captured = run.fetch()
    assert captured["monitoring"]["main"]["stdout"] == "printed to stdout"
    assert "source_code" in captured


def test_console_capture_and_source_tracking_off(scripts: Scripts) -> None:
    """enable_console_log_capture=False and source_tracking_config=None store neither."""
    scripts.run("logging_handler.py", "--quiet")
    with scripts.stored("logging-1") as run:
        data = run.fetch()
    assert "source_code" not in data
    assert "stdout" not in data.get("monitoring", {}).get("main", {})
    assert data["loss"] == 0.5


def test_neptune_mode_offline_then_naiad_sync(scripts: Scripts) -> None:
    """NEPTUNE_MODE=offline keeps the data out of the store until `naiad sync` replays it."""
    scripts.run("offline.py", NEPTUNE_MODE="offline")
    assert not (Path(scripts.store) / "naiad.db").exists()
    assert [p.suffix for p in (Path(scripts.store) / "offline").iterdir()] == [".naiad-journal"]
    subprocess.run(
        [sys.executable, "-m", "naiad._cli", "sync", "--store", str(scripts.store)],
        check=True,
        capture_output=True,
        cwd=scripts.cwd,
    )
    assert [v for _, v in scripts.series("offline-1", "train/loss")] == [1.0, 0.9, 0.8, 0.7, 0.6]
    with scripts.stored("offline-1") as run:
        assert run.fetch()["config"]["mode"] == "offline"


def test_neptune_mode_disabled_stores_nothing(scripts: Scripts) -> None:
    """NEPTUNE_MODE=disabled runs the script and writes no run."""
    scripts.run("offline.py", NEPTUNE_MODE="disabled", RUN_ID="disabled-1")
    assert not Path(scripts.store).exists() or query.list_runs(project=PROJECT, store=scripts.store) == []


def test_create_project_then_log_into_it(scripts: Scripts) -> None:
    """create_project returns workspace/project; the run lands in that naiad project."""
    done = scripts.run("create_project.py")
    assert "PROJECT team-beta/vision" in done.stdout
    with scripts.stored("in-new-project", project="team-beta/vision") as run:
        data = run.fetch()
        loss = run["loss"].fetch_values()
    assert loss["value"].tolist() == [0.25, 0.125]
    assert data["lr"] == 0.1 and data["sys"]["tags"] == {"legacy-log"}


def test_migrating_an_exported_history(scripts: Scripts) -> None:
    """Runs copied from an export keep creation time, description, tags and timestamps."""
    exported = [
        {
            "id": "abc123",
            "name": "bright-river-1",
            "created_at": "2024-05-01T10:00:00Z",
            "notes": "baseline from the old tracker",
            "group": "sweep-7",
            "tags": ["imported"],
            "config": {"lr": 0.01, "model": {"depth": 4, "act": None}},
            "history": [
                {"_step": 0, "_timestamp": 1714557600.0, "loss": 0.9, "acc": None},
                {"_step": 1, "_timestamp": 1714557660.0, "loss": 0.7, "acc": 0.5},
                {"_step": 1, "_timestamp": 1714557661.0, "loss": 0.6},
                {"_step": 2, "_timestamp": 1714557720.0, "loss": 0.5, "acc": 0.6},
            ],
        }
    ]
    (scripts.cwd / "export.json").write_text(json.dumps(exported))
    done = scripts.run("migrate_history.py", "export.json")
    assert "Copied abc123 to team-alpha/imported" in done.stdout
    assert "WARNINGS 1" in done.stdout  # the repeated step 1, reported to the callback
    with scripts.stored("abc123", project="team-alpha/imported") as run:
        data = run.fetch()
        loss = run["loss"].fetch_values()
    assert data["sys"]["description"] == "baseline from the old tracker"
    assert data["sys"]["creation_time"] == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert data["sys"]["group_tags"] == {"sweep-7"} and data["sys"]["tags"] == {"imported"}
    assert data["config"] == {"lr": 0.01, "model": {"depth": 4, "act": "None"}}
    assert loss["value"].tolist() == [0.9, 0.7, 0.5]
    assert [t.timestamp() for t in loss["timestamp"]] == [1714557600.0, 1714557660.0, 1714557720.0]
    assert data["acc"] == 0.6


def test_metrics_from_a_monitoring_thread_and_the_training_loop(scripts: Scripts) -> None:
    """A background thread and the main thread log into one run; the fork continues both."""
    scripts.run("system_monitor.py")
    parent = [s for s, _ in scripts.series("monitored-parent", "runtime/monitoring/process/num_threads")]
    assert parent == list(range(len(parent))) and len(parent) >= 2
    child_own = scripts.series("monitored-child", "runtime/monitoring/process/rss_memory_MiB", lineage=False)
    assert child_own[0][0] == 21 and all(v > 0 for _, v in child_own)
    loss = scripts.series("monitored-child", "train/loss")
    assert [s for s, _ in loss] == list(range(21)) + list(range(21, 51))
    with scripts.stored("monitored-child") as run:
        assert run.fetch()["runtime"]["details"]["hostname"] == "build-host"


def test_a_transformers_callback_written_for_neptune_scale(scripts: Scripts) -> None:
    """A Trainer's arguments land flattened under config/, its loss and eval metrics as series."""
    pytest.importorskip("transformers")
    done = scripts.run("transformers_callback.py")
    with scripts.stored("tiny-bert-1") as run:
        data = run.fetch()
        loss = run["train/loss"].fetch_values()
        eval_loss = run["eval/eval_loss"].fetch_values()
    assert data["config"]["max_steps"] == 6 and data["config"]["logging_steps"] == 1
    assert data["config"]["eval_strategy"] == "steps"
    assert isinstance(data["config"]["output_dir"], str)
    assert loss["step"].tolist() == [1, 2, 4, 5]  # the callback skips logs of evaluating steps
    assert eval_loss["step"].tolist() == [3, 6]
    assert data["train"]["train_runtime"] > 0  # the end-of-training summary, at step 6
    assert "Dropping value" not in done.stderr
    assert data["sys"]["experiment"]["name"] == "tiny-bert-sft"


def test_scripts_log_into_the_team_store_from_naiad_configuration(
    tmp_path: Path, team_store_uri: str
) -> None:
    """NAIAD_STORE=postgresql://... takes the same scripts, files included, with no code change."""
    team = Scripts(tmp_path, store=team_store_uri)
    team.run("quickstart.py")
    team.run("files.py")
    assert [s for s, _ in team.series("quickstart-1", "train/metrics/loss")] == list(range(1, 51))
    with team.stored("files-1") as run:
        summary = run["model/summary"].download(tmp_path / "summary.txt")
    assert Path(str(summary)).read_bytes() == b"Linear(8 -> 1)\n"
