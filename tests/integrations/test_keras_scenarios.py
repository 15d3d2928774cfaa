"""Keras callback scenarios from Keras' own callback tests, with naiad's callback.

``validation_split``, ``initial_epoch`` and one callback reused across two fits of one model;
``evaluate``/``predict`` with the callback and a ``BackupAndRestore`` interruption are in
``test_keras.py``. Each asserts what a user reads back against Keras' own ``History``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
np = pytest.importorskip("numpy")
keras = pytest.importorskip("keras")

import naiad  # noqa: E402
from naiad.integrations.keras import NaiadCallback  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def _model_and_data() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 4), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model, x, y


def _points(store: Path, run_id: str, path: str) -> tuple[list[float], list[float]]:
    run = naiad.Run(run_id=run_id, store=store, mode="read-only")
    try:
        values = run[path].fetch_values(include_timestamp=False)
        return values["step"].tolist(), values["value"].tolist()
    finally:
        run.close()


def test_validation_split_and_a_second_fit_from_initial_epoch_reusing_the_callback(tmp_path: Path) -> None:
    """validation_split=0.25: 48 training samples, 3 updates per epoch, val_loss at each epoch's end.
    The same callback in a second fit(initial_epoch=2) of the same model goes on in the same run."""
    store = tmp_path / "store"
    model, x, y = _model_and_data()
    callback = NaiadCallback("scenarios", store=store)
    options = {
        "batch_size": 16,
        "validation_split": 0.25,
        "verbose": 0,
        "callbacks": [callback],
        "shuffle": False,
    }
    first = model.fit(x, y, epochs=2, **options).history
    run_id = callback.run.run_id
    second = model.fit(x, y, epochs=4, initial_epoch=2, **options).history
    assert callback.run.run_id == run_id  # one run: the second fit continues the model's updates
    callback.close()

    assert len(second["loss"]) == 2  # initial_epoch=2 .. epochs=4
    steps, values = _points(store, run_id, "training/val/loss")
    assert steps == [3, 6, 9, 12]
    assert values == pytest.approx(first["val_loss"] + second["val_loss"])
    steps, values = _points(store, run_id, "training/train_epoch/loss")
    assert steps == [3, 6, 9, 12]
    assert values == pytest.approx(first["loss"] + second["loss"])
    steps, _ = _points(store, run_id, "training/train/loss")
    assert steps == list(range(1, 13))  # every update of both fits, nothing dropped
    steps, epochs = _points(store, run_id, "training/epoch")
    assert epochs[2::3] == pytest.approx([1.0, 2.0, 3.0, 4.0])  # initial_epoch counted, not restarted


def test_media_helpers_and_prefix_like_the_lightning_logger(tmp_path: Path) -> None:
    """log_image/log_table/log_text during fit (from a user's callback) and prefix= on the metric paths."""
    store = tmp_path / "store"
    model, x, y = _model_and_data()
    naiad_callback = NaiadCallback("media", store=store, prefix="stage1")

    class Samples(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            naiad_callback.log_image("samples", np.zeros((4, 4, 3), dtype=np.uint8))
            naiad_callback.log_table("preds", [{"epoch": epoch, "loss": float(logs["loss"])}])
            naiad_callback.log_text("notes", f"epoch {epoch}")

    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False, callbacks=[naiad_callback, Samples()])
    run_id = naiad_callback.run.run_id
    naiad_callback.close()
    assert _points(store, run_id, "training/stage1/train/loss")[0] == list(range(1, 9))
    assert _points(store, run_id, "training/stage1/train_epoch/loss")[0] == [4, 8]
    # media go under the root, as the Lightning logger's (README: media helpers)
    assert _points(store, run_id, "training/text/notes") == ([4, 8], ["epoch 0", "epoch 1"])
    assert _points(store, run_id, "training/images/samples")[0] == [4, 8]
    assert _points(store, run_id, "training/tables/preds")[0] == [4, 8]


def test_tags_and_description_keywords_alike_across_the_three_integrations(tmp_path: Path) -> None:
    """tags=/description= are the same keywords on NaiadLogger and both NaiadCallbacks."""
    pytest.importorskip("lightning")
    from naiad.integrations.lightning import NaiadLogger

    store = tmp_path / "store"
    model, x, y = _model_and_data()
    keras_cb = NaiadCallback("alike", store=store, tags=["k"], description="keras run")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[keras_cb])
    keras_cb.close()
    logger = NaiadLogger("alike", store=store, tags=["l"], description="lightning run")
    logger.log_metrics({"a": 1.0}, step=1)
    logger.finalize("success")
    ids = {"k": keras_cb.run.run_id, "l": logger.version}
    try:
        from naiad.integrations.transformers import NaiadCallback as HFCallback

        hf = HFCallback("alike", store=store, tags=["h"], description="hf run")
        assert (hf.tags, hf.description) == (["h"], "hf run")  # passed to naiad.Run at train()
    except ImportError:
        pass
    for tag, run_id in ids.items():
        run = naiad.Run(run_id=run_id, store=store, mode="read-only")
        try:
            sys_ns = run.fetch()["sys"]
            assert sys_ns["tags"] == {tag}
            assert sys_ns["description"].startswith({"k": "keras", "l": "lightning"}[tag])
        finally:
            run.close()
