"""neptune 1.x scripts, imports rewritten to naiad.neptune, store what Neptune stored."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
from _nep import PROJECT, Scripts

from naiad import query


def test_quickstart_stores_parameters_series_score_and_tags(scripts: Scripts) -> None:
    """Neptune's quickstart: the parameters dict, ten loss points, the score and tags read back."""
    done = scripts.run("hello_neptune.py")
    assert done.stdout.strip() == "http://127.0.0.1:8765/#/run/hello-1"
    with scripts.stored("hello-1") as run:
        data = run.fetch()
    assert data["parameters"] == {"learning_rate": 0.001, "optimizer": "Adam"}
    assert data["eval"]["f1_score"] == 0.66
    assert data["sys"]["tags"] == {"quickstart", "script", "extra"}
    assert data["sys"]["state"] == "inactive"
    loss = scripts.series("hello-1", "train/loss")
    assert [s for s, _ in loss] == list(range(10))  # steps counted from 0, as Neptune did
    assert [v for _, v in loss] == pytest.approx([0.9**e for e in range(10)])
    assert query.list_runs(project=PROJECT, store=scripts.store) == ["hello-1"]


def test_pytorch_loop_stores_config_tensor_metrics_images_and_weights(scripts: Scripts) -> None:
    """Stringified config, 0-d tensors as floats, an image series, and the weights file."""
    scripts.run("pytorch_basic.py")
    with scripts.stored("pytorch-1") as run:
        data = run.fetch()
        images = run["images/predictions"].fetch_values(include_timestamp=False)
        weights = run["io_files/artifacts/basemodel"].download(scripts.cwd / "got")
    hyper = data["config"]["hyperparameters"]
    assert hyper["device"] == "cpu" and hyper["hidden"] == "[16, 8]" and hyper["lr"] == 0.01
    assert hyper["bs"] == 16
    assert data["config"]["model"] == "Sequential" and data["config"]["optimizer"] == "SGD"
    assert data["sys"]["experiment"]["name"] == "pytorch-basic"
    loss = scripts.series("pytorch-1", "training/batch/loss")
    assert len(loss) == 12 and all(0.0 < v < 2.0 for _, v in loss)
    assert images["step"].tolist() == [0.0, 1.0]
    assert images["value"].iloc[0]["mime"] == "image/png"
    assert (scripts.cwd / "basemodel.pth").read_bytes() == weights.read_bytes()  # type: ignore[union-attr]


def test_second_process_resumes_by_sys_id(scripts: Scripts) -> None:
    """``with_id=<sys/id>`` reopens the run: the series continues and a field is overwritten."""
    scripts.run("resume_run.py", "create")
    sys_id = (scripts.cwd / "run_id.txt").read_text()
    done = scripts.run("resume_run.py", "again")
    assert done.stdout.strip() == f"resumed {sys_id} last loss 0.2"
    loss = scripts.series("resume-1", "train/loss")
    assert loss == [(float(s), pytest.approx(1.0 / (s + 1))) for s in range(10)]
    with scripts.stored("resume-1") as run:
        assert run["params/epochs"].fetch() == 10
        assert run["sys/id"].fetch() == sys_id
    assert query.list_runs(project=PROJECT, store=scripts.store) == ["resume-1"]


def test_read_only_fetch_returns_what_neptune_returned(scripts: Scripts) -> None:
    """Namespace fetch is a nested dict, sys/state reads 'Inactive', fetch_values has 3 columns."""
    done = scripts.run("read_back.py")
    lines = done.stdout.splitlines()
    assert lines[0] == "state Inactive"
    assert lines[1] == "params {'lr': 0.01, 'model': {'act': 'relu', 'depth': 3}}"
    assert lines[2] == "depth 3"
    assert lines[3] == "columns ['step', 'value', 'timestamp']"
    assert lines[4] == "steps [0.0, 1.0, 2.0, 3.0]"
    assert lines[5] == "naive True"
    assert lines[6] == "exists True False"
    assert "'metrics':" in lines and "    'acc': FloatSeries" in lines


def test_lenient_values_warn_and_skip_while_the_rest_is_stored(scripts: Scripts) -> None:
    """numpy scalars typed, None and a list skipped with a warning, the step back dropped."""
    done = scripts.run("lenient_values.py")
    assert done.stdout.strip() == "done"
    assert done.stderr.count("NeptuneUnsupportedType") == 2
    assert "NeptuneWarning: Step 1 for 'metrics/loss'" in done.stderr
    with scripts.stored("lenient-1") as run:
        data = run.fetch()
        structure = run.get_structure()
    assert data["config"] == {"lr": 0.5, "epochs": 4, "name": "cosine"}  # scheduler=None skipped
    assert structure["config"]["epochs"] == "Integer"  # the float went in as int(4.0)
    assert structure["config"]["lr"] == "Float"
    assert data["flags"]["ok"] is True
    assert scripts.series("lenient-1", "metrics/loss") == [
        (1.0, 0.9),
        (2.0, 0.5),
        (3.0, 0.4),
        (4.0, 0.3),
    ]
    assert scripts.series("lenient-1", "metrics/acc") == [(1.0, pytest.approx(0.1)), (2.0, 0.4)]


def test_file_types_are_stored_with_names_and_content(scripts: Scripts) -> None:
    """from_content, from_stream, as_pickle and as_image land as files; download gets the bytes."""
    done = scripts.run("files_types.py")
    assert "NeptuneUnsupportedType" in done.stderr  # the object() upload, skipped
    assert (scripts.cwd / "downloads").read_text() == "trained on the seabird set\n"
    with scripts.stored("files-1") as run:
        data = run.fetch()
        pickled = run["model/pickled"].download(scripts.cwd / "pk")
        image = run["images/gray"].download(scripts.cwd / "img")
    assert data["notes"]["readme"]["name"] == "readme.txt"
    assert data["data"]["sample"]["name"] == "sample.csv" and data["data"]["sample"]["size"] == 8
    assert data["data"]["stream"]["size"] == len("streamed text")
    assert pickle.loads(pickled.read_bytes()) == {"weights": [1, 2, 3]}  # type: ignore[union-attr]
    png = image.read_bytes()  # type: ignore[union-attr]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[16:24] == (4).to_bytes(4, "big") * 2
    assert "not" not in data


def test_debug_mode_stores_nothing(scripts: Scripts) -> None:
    """mode='debug' runs the whole script and leaves no run in the store."""
    done = scripts.run("debug_mode.py")
    assert done.stdout.strip() == "debug done"
    assert not (scripts.cwd / "store").exists() or query.list_runs(project=PROJECT, store=scripts.store) == []


def test_project_runs_table_has_sys_id_and_filters_by_tag_and_id(scripts: Scripts) -> None:
    """init_project().fetch_runs_table(...).to_pandas(): sys/id column, tag (all of) and id filters."""
    done = scripts.run("runs_table.py")
    lines = done.stdout.splitlines()
    assert lines[0] == "columns ['parameters/lr', 'train/loss']"
    assert lines[1] == "ids ['TEA-1', 'TEA-2', 'TEA-3']"
    assert lines[2] == "states ['Inactive']"
    assert lines[3] == "best TEA-3 0.001"  # the smallest last loss is the smallest lr's
    assert lines[4] == "trials ['sys/id', 'parameters/lr'] [0.001, 0.01]"
    assert lines[5] == "by id True"


def test_transformers_report_to_neptune_logs_into_naiad_through_install(scripts: Scripts) -> None:
    """transformers' own NeptuneCallback, found through naiad.neptune.install(), logs the training."""
    scripts.run("transformers_report_to.py")
    (run_id,) = query.list_runs(project=PROJECT, store=scripts.store)
    with scripts.stored(run_id) as run:
        data = run.fetch()
    assert data["finetuning"]["trainer_parameters"]["run_name"] == "bert-tiny"
    assert data["finetuning"]["trainer_parameters"]["num_train_epochs"] == 2
    assert data["finetuning"]["model_parameters"]["hidden_size"] == 16
    assert data["source_code"]["integrations"]["transformers"]
    loss = scripts.series(run_id, "finetuning/train/loss")
    assert [s for s, _ in loss] == [float(s) for s in range(1, 9)]  # one point per logging step
    assert all(0.5 < v < 0.8 for _, v in loss)
    assert data["finetuning"]["train"]["train_loss"] == pytest.approx(sum(v for _, v in loss) / 8, rel=1e-3)


def test_lightning_neptune_logger_writes_hparams_metrics_and_checkpoint(scripts: Scripts) -> None:
    """NeptuneLogger's arguments map onto naiad's Lightning logger; logger.run is Neptune-style."""
    done = scripts.run("lightning_logger.py")
    # eval/bad=None, skipped as Neptune did, warned at the script's own line
    assert "lightning_logger.py:53: " in done.stderr
    assert "not directly supported by Neptune (NoneType) at 'eval/bad'" in done.stderr
    with scripts.stored("lightning-1") as run:
        data = run.fetch()
        got = run["training/checkpoints/files"].download(scripts.cwd / "ckpt")
    assert data["sys"]["tags"] == {"lightning", "mlp"}
    assert data["sys"]["experiment"]["name"] == "lightning-demo"
    assert data["training"]["hyperparams"]["lr"] == 0.05 and data["training"]["hyperparams"]["hidden"] == 8
    assert data["eval"] == {"note": "done"}
    loss = scripts.series("lightning-1", "training/train/loss")
    assert [s for s, _ in loss] == [float(s) for s in range(1, 9)]  # 2 epochs x 4 batches
    assert len(scripts.series("lightning-1", "training/val/loss")) == 2
    assert isinstance(got, list) and got and all(p.name.endswith(".ckpt") for p in got)
    sizes = {p.stat().st_size for p in got}
    assert data["training"]["checkpoints"]["last"]["size"] in sizes  # the checkpoint's bytes came back


def test_offline_run_reaches_the_store_after_naiad_sync(scripts: Scripts) -> None:
    """mode='offline' writes a journal only; `naiad sync` (Neptune's `neptune sync`) merges it."""
    done = scripts.run("offline_then_sync.py")
    assert done.stdout.strip() == "logged offline"
    assert not (scripts.store / "naiad.db").exists()  # nothing in the store yet, only the journal
    synced = subprocess.run(
        [sys.executable, "-m", "naiad._cli", "--store", str(scripts.store), "sync"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=scripts.env(),
    )
    assert synced.returncode == 0, synced.stderr
    with scripts.stored("offline-1") as run:
        data = run.fetch()
    assert data["parameters"] == {"lr": 0.3, "batch_size": 32}
    assert data["sys"]["tags"] == {"offline"}
    assert scripts.series("offline-1", "train/acc") == [
        (float(e), pytest.approx(0.5 + e / 10)) for e in range(5)
    ]


def test_model_registry_versions_stages_and_table(scripts: Scripts) -> None:
    """A model, two versions (ids MODEL-1, MODEL-2), a stage change, the versions table."""
    done = scripts.run("model_registry.py")
    lines = done.stdout.splitlines()
    assert lines[:2] == ["version CLF-1 none", "version CLF-2 production"]
    assert lines[2] == "table ['sys/id', 'model_registry/stage', 'validation/acc']"
    assert lines[3:] == ["row 0.81 none", "row 0.87 production", "production [0.87]"]
    with scripts.stored("CLF-2") as version:
        data = version.fetch()
        binary = version["model/binary"].download(scripts.cwd / "bin")
    assert data["model_registry"] == {"kind": "model_version", "model": "CLF", "stage": "production"}
    assert binary.read_bytes() == b"weights v1"  # type: ignore[union-attr]
    with scripts.stored("CLF") as model:
        assert model["signature"].fetch() == "f(x: float[4]) -> int"
        assert model["sys/experiment/name"].fetch() == "classifier"


def test_handles_extend_dicts_log_pop_and_fetch_last(scripts: Scripts) -> None:
    """extend({...}, steps, timestamps), log() of a value and a list, pop, a string series."""
    done = scripts.run("handles_extend.py")
    lines = done.stdout.splitlines()
    assert lines[0] == "last 0.4 epoch 2 ok"
    assert lines[1] == "exists False True"
    assert lines[2] == "structure {'acc': 'FloatSeries', 'loss': 'FloatSeries'}"
    assert scripts.series("handles-1", "train/metrics/acc") == [(1.0, 0.3), (2.0, 0.6), (3.0, 0.8)]
    assert [v for _, v in scripts.series("handles-1", "eval/loss")] == [0.5, 0.45, 0.4]
    assert scripts.series("handles-1", "notes") == [(0.0, "epoch 1 ok"), (5.0, "epoch 2 ok")]
    with scripts.stored("handles-1") as run:
        data = run.fetch()
        stamps = run["train/metrics/loss"].fetch_values()["timestamp"]
    assert data["train"]["config"] == {"epochs": 3, "scheduler": "cosine"}
    assert "tmp" not in data
    assert (stamps.iloc[2] - stamps.iloc[0]).total_seconds() == pytest.approx(2.0, abs=1e-3)
