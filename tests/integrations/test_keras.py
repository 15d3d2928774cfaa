"""Keras 3 integration: a tiny real model fitted on the torch backend, read back from the store."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
np = pytest.importorskip("numpy")
keras = pytest.importorskip("keras")

import naiad  # noqa: E402
from naiad.integrations.keras import STATE_FILE, ModelCheckpoint, NaiadCallback  # noqa: E402

# Keras' Variable.numpy() (used by optimizer.get_config on the torch backend) calls
# np.array(variable), which NumPy 2 warns about; it is Keras' to fix, not naiad's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

STEPS = 4  # batches per epoch: 64 samples, batch size 16


class Boom(keras.callbacks.Callback):
    """Raises once the optimizer has made ``at`` updates: a crash in the middle of an epoch."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if int(self.model.optimizer.iterations) == self.at:
            raise RuntimeError("boom")


def make_model(lr: float = 0.01) -> keras.Model:
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse", metrics=["mae"])
    return model


@pytest.fixture
def data() -> tuple:
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 4), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    return x, y, (x[:16], y[:16])


def fit(model: keras.Model, data: tuple, callbacks: list, epochs: int, **kw):
    x, y, val = data
    return model.fit(
        x,
        y,
        batch_size=16,
        epochs=epochs,
        validation_data=val,
        shuffle=False,
        verbose=0,
        callbacks=callbacks,
        **kw,
    )


def read(store: Path, run_id: str) -> naiad.Run:
    return naiad.Run(run_id=run_id, store=store, mode="read-only")


def series(run: naiad.Run, path: str):
    return run[path].fetch_values(include_timestamp=False)


def test_fit_logs_standard_paths_steps_and_values_as_history(tmp_path, data):
    """Every §8 path a user looks for, with the values and steps Keras computed."""
    store = tmp_path / "store"
    model = make_model()
    cb = NaiadCallback(
        experiment_name="seabird", store=store, batch_size=16, hyperparams={"hidden": 8, "data": {"n": 64}}
    )
    ckpt = ModelCheckpoint(str(tmp_path / "ckpt" / "e{epoch:02d}.keras"), monitor="val_loss")
    # mode="max" on a falling loss: the learning rate is halved after every epoch but the first
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=0)
    history = fit(model, data, [cb, ckpt, plateau], epochs=3).history
    run = read(store, cb.run.run_id)
    v = run.fetch()["training"]

    assert v["framework"] == {"name": "keras", "version": keras.__version__}
    hp = v["hyperparams"]
    assert hp["learning_rate"] == pytest.approx(0.01) and hp["optimizer"] == "Adam"
    assert (hp["max_epochs"], hp["batch_size"], hp["hidden"], hp["data"]["n"]) == (3, 16, 8, 64)
    trainer = v["config"]["trainer"]
    assert (trainer["epochs"], trainer["steps"], trainer["backend"]) == (3, STEPS, "torch")
    assert trainer["batch_metrics"] == "running_mean"
    assert v["config"]["optimizer"]["name"] == "adam"
    assert v["model"]["class"] == "Sequential"
    assert v["model"]["num_params"] == v["model"]["num_trainable_params"] == model.count_params() == 49
    assert "dense" in v["model"]["summary"].lower()

    ends = [STEPS * (i + 1) for i in range(3)]
    for key in ("loss", "mae"):
        epoch = series(run, f"training/train_epoch/{key}")
        assert epoch["step"].tolist() == ends and epoch["value"].tolist() == history[key]
        val = series(run, f"training/val/{key}")
        assert val["step"].tolist() == ends and val["value"].tolist() == history[f"val_{key}"]
    batch = series(run, "training/train/loss")
    assert batch["step"].tolist() == list(range(1, 13))
    # Keras' batch logs are running means: the last batch of an epoch equals the epoch's value
    assert batch.set_index("step").loc[ends, "value"].tolist() == history["loss"]

    lr = series(run, "training/train/learning_rate").set_index("step")["value"]
    for i, used in enumerate(history["learning_rate"]):  # the rate each epoch trained with
        assert lr.loc[i * STEPS + 1 : (i + 1) * STEPS].tolist() == [used] * STEPS
    assert history["learning_rate"] == pytest.approx([0.01, 0.01, 0.005])
    epochs = series(run, "training/epoch")
    assert epochs["step"].tolist() == list(range(1, 13))
    assert epochs["value"].tolist() == pytest.approx([s / STEPS for s in range(1, 13)])

    saved = series(run, "training/checkpoints/saved")
    files = [str((tmp_path / "ckpt" / f"e{i:02d}.keras").resolve()) for i in (1, 2, 3)]
    assert saved["step"].tolist() == ends and saved["value"].tolist() == files
    ck = v["checkpoints"]
    assert (ck["last"]["path"], ck["last"]["step"], ck["last"]["epoch"]) == (files[-1], 12, 3)
    assert (ck["last"]["monitor"], ck["last"]["mode"]) == ("val_loss", "min")
    best = int(np.argmin(history["val_loss"]))
    assert (ck["best"]["path"], ck["best"]["step"]) == (files[best], ends[best])
    assert ck["best"]["score"] == min(history["val_loss"])
    assert ck["best"]["sha256"] and ck["best"]["size"] == Path(files[best]).stat().st_size
    assert "file" not in ck["best"]  # not uploaded unless asked

    assert v["summary"]["status"] == "completed" and v["summary"]["steps"] == 12
    sys_ = run.fetch()["sys"]
    assert sys_["failed"] is False and sys_["state"] == "inactive"
    assert sys_["experiment"]["name"] == "seabird"


def test_single_epoch_fit_every_other_batch_with_uploaded_checkpoint(tmp_path, data):
    """One epoch, batch metrics every 2 updates; log_checkpoints=True stores the file itself."""
    store, ckpt = tmp_path / "store", tmp_path / "model.weights.h5"
    cb = NaiadCallback(store=store, log_every_n_batches=2, log_checkpoints=True)
    saver = ModelCheckpoint(ckpt, save_weights_only=True, monitor="val_mae")
    history = fit(make_model(), data, [saver, cb], epochs=1).history
    run = read(store, cb.run.run_id)
    assert series(run, "training/train/loss")["step"].tolist() == [2, 4]
    assert series(run, "training/epoch")["value"].tolist() == [0.5, 1.0]
    val = series(run, "training/val/loss")
    assert val["step"].tolist() == [4] and val["value"].tolist() == history["val_loss"]
    assert run["training/hyperparams/max_epochs"].fetch() == 1
    assert not run.exists("training/hyperparams/batch_size")  # unknown unless passed
    got = run["training/checkpoints/best/file"].download(tmp_path / "back.weights.h5")
    assert Path(got).read_bytes() == ckpt.read_bytes()
    assert run["training/checkpoints/best/score"].fetch() == history["val_mae"][0]


def test_interrupted_fit_restarts_as_forked_child_with_continuous_curves(tmp_path, data):
    """BackupAndRestore: the restarted fit is a child forked at the restored step."""
    store, backup = tmp_path / "store", tmp_path / "backup"
    first = make_model()
    parent_cb = NaiadCallback(experiment_name="gull", store=store, batch_size=16)
    with pytest.raises(RuntimeError, match="boom"):  # mid-epoch 3 (after update 10)
        fit(first, data, [keras.callbacks.BackupAndRestore(backup), parent_cb, Boom(at=10)], epochs=4)
    before = dict(first.history.history)  # the two epochs Keras completed before the crash
    state = json.loads((backup / STATE_FILE).read_text())
    assert state["run_id"] == parent_cb.run.run_id and state["experiment"] == "gull"

    # a new process would build the model again: BackupAndRestore restores epoch 2, step 8
    child_cb = NaiadCallback(store=store)
    after = fit(make_model(), data, [child_cb, keras.callbacks.BackupAndRestore(backup)], epochs=4).history
    child = read(store, child_cb.run.run_id)
    s = child.fetch()["sys"]
    assert s["forking"]["parent"] == parent_cb.run.run_id and s["forking"]["step"] == 8
    assert s["experiment"]["name"] == "gull" and s["experiment"]["is_head"] is True
    assert child.fetch()["training"]["resume"] == {
        "checkpoint": str(backup / "latest.weights.h5"),
        "step": 8,
        "epoch": 2.0,
        "source": "keras.callbacks.BackupAndRestore",
    }
    assert read(store, parent_cb.run.run_id)["sys/failed"].fetch() is True

    stitched = series(child, "training/train_epoch/loss")
    assert stitched["step"].tolist() == [4, 8, 12, 16]
    assert stitched["value"].tolist() == before["loss"] + after["loss"]
    assert stitched["run_id"].tolist() == [parent_cb.run.run_id] * 2 + [child_cb.run.run_id] * 2
    val = series(child, "training/val/loss")
    assert val["value"].tolist() == before["val_loss"] + after["val_loss"]
    batch = series(child, "training/train/loss")  # the parent's steps 9-10 are not inherited
    assert batch["step"].tolist() == list(range(1, 17))
    assert np.all(np.diff(series(child, "training/epoch")["step"]) > 0)
    assert not backup.exists()  # BackupAndRestore removed it after the finished fit


def test_explicit_fork_from_continues_a_crashed_run(tmp_path, data):
    """fork_from=(run_id, step): a child of the crashed run, in its experiment."""
    store = tmp_path / "store"
    model = make_model()
    first = NaiadCallback(experiment_name="tern", store=store)
    with pytest.raises(RuntimeError):
        fit(model, data, [first, Boom(at=6)], epochs=3)
    second = NaiadCallback(store=store, fork_from=(first.run.run_id, 6))
    fit(model, data, [second], epochs=3, initial_epoch=1)  # the same model goes on from update 6
    child = read(store, second.run.run_id)
    assert child["sys/experiment/name"].fetch() == "tern"
    assert child["training/resume/source"].fetch() == "fork_from"
    steps = series(child, "training/train/loss")["step"].tolist()
    assert steps == list(range(1, 6 + 2 * STEPS + 1))


def test_failing_fit_marks_run_failed(tmp_path, data):
    """A fit that raises: sys/failed, with the exception's text when used as a context manager."""
    store = tmp_path / "store"
    with pytest.raises(RuntimeError), NaiadCallback(store=store) as cb:
        fit(make_model(), data, [cb, Boom(at=3)], epochs=2)
    run = read(store, cb.run.run_id)
    assert run["sys/failed"].fetch() is True
    assert run["sys/diagnostics/exception"].fetch() == "RuntimeError: boom"
    assert run["sys/state"].fetch() == "inactive"
    assert run["training/summary/status"].fetch() == "failed"

    plain = NaiadCallback(store=store)
    # Keras drops the fit's callbacks with the exception: naiad sees that the fit never ended
    with contextlib.suppress(RuntimeError):
        fit(make_model(), data, [plain, Boom(at=3)], epochs=2)
    run = read(store, plain.run.run_id)
    assert run["sys/failed"].fetch() is True and run["sys/state"].fetch() == "inactive"


def test_logging_problem_warns_and_training_goes_on(tmp_path, data):
    """A path already holding another type: the points are dropped, counted, and fit finishes."""
    run = naiad.Run(store=tmp_path / "store")
    run["training/train/loss"] = "not a series"
    cb = NaiadCallback(run=run)
    with pytest.warns(naiad.NaiadWarning, match="training/train/loss"):
        history = fit(make_model(), data, [cb], epochs=1).history
    assert not run.closed  # the user's run stays open
    run.wait()
    assert run["training/val/loss"].fetch() == history["val_loss"][-1]
    assert run["sys/diagnostics/dropped"].fetch() >= STEPS
    run.close()


def test_import_naiad_without_keras_and_integration_names_the_extra():
    code = (
        "import sys\n"
        "sys.modules['keras'] = None\n"
        "import naiad\n"
        "try:\n"
        "    import naiad.integrations.keras\n"
        "except ModuleNotFoundError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "ERR" in out.stdout and "pip install 'naiad[keras]'" in out.stdout


def test_quickstart_example_runs_and_reads_back(tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "keras_quickstart.py"
    out = subprocess.run(
        [sys.executable, str(example), "--epochs", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "KERAS_BACKEND": "torch"},
    )
    assert f"stored at {(tmp_path / '.naiad').resolve()}" in out.stdout
    assert "best checkpoint at step" in out.stdout and "status: completed" in out.stdout


def test_evaluate_and_predict_with_the_callback_are_logged_every_call(tmp_path, data):
    """model.evaluate/predict(callbacks=[cb]) after fit: each call a visible point at the step."""
    store = tmp_path / "store"
    cb = NaiadCallback(store=store)
    model = make_model()
    fit(model, data, [cb], epochs=1)
    x, y, _ = data
    first = model.evaluate(x, y, verbose=0, callbacks=[cb], return_dict=True)
    second = model.evaluate(x[:16], y[:16], verbose=0, callbacks=[cb], return_dict=True)
    model.predict(x, verbose=0, batch_size=16, callbacks=[cb])
    run = read(store, cb.run.run_id)
    loss = series(run, "training/test/loss")
    assert loss["step"].tolist() == [STEPS, STEPS + 0.001]
    assert loss["value"].tolist() == pytest.approx([first["loss"], second["loss"]])
    assert series(run, "training/predict/batches")["value"].tolist() == [STEPS]
    assert run["training/val/loss"].fetch() is not None  # fit's own validation, unchanged


def test_non_scalar_metrics_and_a_large_summary_are_stored_not_dropped(tmp_path, data):
    """F1Score(average=None) gives one series per class; a >64 KiB summary is cut, not lost."""
    store = tmp_path / "store"
    x, y, _ = data
    labels = (y > y.mean()).astype("float32")
    wide = keras.Sequential(
        [keras.Input((4,))]
        + [keras.layers.Dense(64) for _ in range(300)]
        + [keras.layers.Dense(2, activation="softmax")]
    )
    wide.compile(
        optimizer="adam", loss="categorical_crossentropy", metrics=[keras.metrics.F1Score(average=None)]
    )
    cb = NaiadCallback(store=store, hyperparams={"dropout": None})
    onehot = np.concatenate([1 - labels, labels], axis=1)
    wide.fit(x, onehot, batch_size=32, epochs=1, verbose=0, callbacks=[cb])
    tr = read(store, cb.run.run_id).fetch()["training"]
    assert set(tr["train_epoch"]["f1_score"]) == {"0", "1"}
    assert len(tr["model"]["summary"].encode()) <= 64 * 1024 and "Dense" in tr["model"]["summary"]
    assert tr["hyperparams_unset"] == {"dropout"}


def test_a_constructor_typo_raises():
    from naiad.errors import ConfigError

    with pytest.raises(ConfigError, match="experiment_nam"):
        NaiadCallback(experiment_nam="x")
