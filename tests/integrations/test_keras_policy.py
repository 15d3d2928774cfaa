"""Keras: the log_model checkpoint policy and step-level evaluation values (issue 14)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
np = pytest.importorskip("numpy")
keras = pytest.importorskip("keras")

from test_keras import STEPS, make_model, read, series  # noqa: E402

from naiad.integrations.keras import ModelCheckpoint, NaiadCallback  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
EPOCHS = 3
VAL_BATCHES = 4  # 32 validation samples, validation batch size 8


def train(tmp_path: Path, cb: NaiadCallback, *savers: Any) -> tuple[keras.Model, dict[str, Any]]:
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 4), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = make_model()
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=EPOCHS,
        validation_data=(x[:32], y[:32]),
        validation_batch_size=8,
        shuffle=False,
        verbose=0,
        callbacks=[cb, *savers],
    )
    return model, history.history


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_log_model_best_uploads_one_best_per_monitor_with_two_checkpoints(tmp_path: Path) -> None:
    """log_model="best" with two ModelCheckpoints: the first one's best is checkpoints/best (its
    content stored), each monitor's best file is described under checkpoints/by_monitor."""
    store = tmp_path / "store"
    cb = NaiadCallback(store=store, log_model="best")
    by_val = ModelCheckpoint(tmp_path / "v{epoch}.weights.h5", save_weights_only=True, monitor="val_loss")
    by_mae = ModelCheckpoint(
        tmp_path / "m{epoch}.weights.h5", save_weights_only=True, monitor="mae", mode="max"
    )
    _, history = train(tmp_path, cb, by_val, by_mae)
    cp = read(store, cb.run.run_id).fetch()["training"]["checkpoints"]
    best_val = 1 + int(np.argmin(history["val_loss"]))
    best_mae = 1 + int(np.argmax(history["mae"]))
    assert cp["best"]["monitor"] == "val_loss"
    assert cp["best"]["path"] == str(tmp_path / f"v{best_val}.weights.h5")
    assert cp["by_monitor"]["val_loss"]["path"] == cp["best"]["path"]
    assert cp["by_monitor"]["mae"]["path"] == str(tmp_path / f"m{best_mae}.weights.h5")
    assert cp["by_monitor"]["mae"]["mode"] == "max"
    run = read(store, cb.run.run_id)
    got = run["training/checkpoints/best/file"].download(tmp_path / "back.weights.h5")
    assert sha256(got) == cp["best"]["sha256"] == sha256(cp["best"]["path"])
    assert not run.exists("training/checkpoints/last/file")  # "best" only
    assert len(series(run, "training/checkpoints/saved")) == 2 * EPOCHS


def test_log_model_all_uploads_every_file_and_last_uploads_the_last(tmp_path: Path) -> None:
    store = tmp_path / "store"
    every = NaiadCallback(store=store, log_model="all")
    train(
        tmp_path / "a", every, ModelCheckpoint(tmp_path / "a" / "e{epoch}.weights.h5", save_weights_only=True)
    )
    run = read(store, every.run.run_id)
    files = series(run, "training/checkpoints/files")
    assert files["step"].tolist() == [STEPS * e for e in range(1, EPOCHS + 1)]
    last = NaiadCallback(store=store, log_model="last")
    train(
        tmp_path / "b", last, ModelCheckpoint(tmp_path / "b" / "e{epoch}.weights.h5", save_weights_only=True)
    )
    run = read(store, last.run.run_id)
    got = run["training/checkpoints/last/file"].download(tmp_path / "last.weights.h5")
    assert sha256(got) == sha256(tmp_path / "b" / f"e{EPOCHS}.weights.h5")
    assert not run.exists("training/checkpoints/best/file")
    assert not run.exists("training/checkpoints/files")


def test_off_by_default_and_a_bad_policy_raises_at_construction(tmp_path: Path) -> None:
    store = tmp_path / "store"
    cb = NaiadCallback(store=store)
    train(tmp_path, cb, ModelCheckpoint(tmp_path / "e.weights.h5", save_weights_only=True))
    run = read(store, cb.run.run_id)
    assert run.exists("training/checkpoints/last/sha256")  # described, content not stored
    assert not run.exists("training/checkpoints/last/file")
    with pytest.raises(ValueError, match="log_model must be False, 'last', 'best' or 'all'"):
        NaiadCallback(log_model="every")
    with pytest.raises(ValueError, match="log_model"):
        ModelCheckpoint(tmp_path / "e.weights.h5", upload="sometimes")


def test_step_level_eval_values_have_their_own_series_outside_and_inside_fit(tmp_path: Path) -> None:
    """Each validation batch → training/val_step/<m> (x = evaluation batches so far); the epoch
    value stays in training/val/<m>; evaluate() after fit adds test_step and test points, and a
    second evaluate() counts on, never colliding."""
    store = tmp_path / "store"
    cb = NaiadCallback(store=store)
    model, history = train(tmp_path, cb)
    x = np.random.default_rng(1).random((32, 4), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    first = model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[cb], return_dict=True)
    second = model.evaluate(x[:16], y[:16], batch_size=8, verbose=0, callbacks=[cb], return_dict=True)
    run = read(store, cb.run.run_id)
    val = series(run, "training/val/loss")
    assert val["step"].tolist() == [STEPS * e for e in range(1, EPOCHS + 1)]
    assert val["value"].tolist() == pytest.approx(history["val_loss"])
    val_step = series(run, "training/val_step/loss")
    assert val_step["step"].tolist() == list(range(1, EPOCHS * VAL_BATCHES + 1))
    # Keras' batch values are running means over the evaluation: the last one is the epoch value
    assert val_step["value"].tolist()[VAL_BATCHES - 1] == pytest.approx(history["val_loss"][0])
    test_step = series(run, "training/test_step/loss")
    assert test_step["step"].tolist() == list(range(1, 4 + 2 + 1))  # 4 then 2 batches
    assert test_step["value"].tolist()[3] == pytest.approx(first["loss"])
    test = series(run, "training/test/loss")
    assert test["step"].tolist() == [STEPS * EPOCHS, STEPS * EPOCHS + 0.001]
    assert test["value"].tolist() == pytest.approx([first["loss"], second["loss"]])
    assert run.fetch()["sys"].get("diagnostics", {}).get("dropped", 0) == 0


def test_faults_in_the_new_paths_never_stop_fit_or_evaluate(tmp_path: Path) -> None:
    """Paths of step-level values, uploads and evaluate() results already hold another type:
    fit and evaluate finish, each drop is warned about and counted."""
    import naiad

    run = naiad.Run(store=tmp_path / "store")
    for path in ("training/val_step/loss", "training/checkpoints/files", "training/test/loss"):
        run[path] = "not a series"
    run["training/checkpoints/last/file"] = 1.0
    cb = NaiadCallback(run=run, log_model="all")
    with pytest.warns(naiad.NaiadWarning) as caught:
        model, history = train(
            tmp_path, cb, ModelCheckpoint(tmp_path / "e.weights.h5", save_weights_only=True)
        )
        x = np.ones((8, 4), dtype=np.float32)
        result = model.evaluate(x, x.sum(axis=1), verbose=0, callbacks=[cb], return_dict=True)
    assert len(history["loss"]) == EPOCHS and "loss" in result
    text = " ".join(str(w.message) for w in caught)
    for path in ("val_step/loss", "checkpoints/files", "checkpoints/last/file", "test/loss"):
        assert path in text
    run.wait()
    assert run["sys/diagnostics/dropped"].fetch() >= EPOCHS * VAL_BATCHES + 2 * EPOCHS + 1
    assert run["training/val/loss"].fetch() == pytest.approx(history["val_loss"][-1])
    run.close()
