"""Lightning's generic logger tests (``tests/tests_pytorch/loggers/test_all.py``) run on NaiadLogger.

Ported from upstream: the logger is built as NaiadLogger (store in ``tmp_path``) instead of each
upstream logger class; the upstream assertions are kept. Where naiad's data model differs (``prefix=``
is a namespace, not a ``tmp-`` key prefix), the assertion checks what the user reads back instead of
a mocked backend call, and says so.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

from lightning.pytorch import Trainer  # noqa: E402
from lightning.pytorch.demos.boring_classes import BoringModel  # noqa: E402

import naiad  # noqa: E402
from naiad.integrations.lightning import NaiadLogger  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:The '\\w+_dataloader' does not have many workers"),
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`"),
    pytest.mark.filterwarnings("ignore:.*was called without a model"),
    pytest.mark.filterwarnings("ignore:You called `self.log\\('\\w+', ...\\)` .* needs to be floating"),
]


def _instantiate_logger(save_dir: Path, **override_kwargs: Any) -> NaiadLogger:
    args: dict[str, Any] = {"store": save_dir / "store", "experiment_name": "test-all"}
    args["save_dir"] = str(save_dir)
    args.update(override_kwargs)
    return NaiadLogger(**args)


def test_loggers_fit_test_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify that basic functionality of all loggers."""
    monkeypatch.chdir(tmp_path)

    class CustomModel(BoringModel):  # type: ignore[misc]
        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = self.step(batch)
            self.log("train_some_val", loss)
            return {"loss": loss}

        def on_validation_epoch_end(self) -> None:
            self.log_dict({"early_stop_on": torch.tensor(1), "val_loss": torch.tensor(0.5)})

        def on_test_epoch_end(self) -> None:
            self.log("test_loss", torch.tensor(2))

    class StoreHistoryLogger(NaiadLogger):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.history: list[tuple[Any, dict[str, Any]]] = []

        def log_metrics(self, metrics: Any, step: Any = None) -> None:
            super().log_metrics(metrics, step)
            self.history.append((step, metrics))

    logger = StoreHistoryLogger(store=tmp_path / "store", experiment_name="test-all", save_dir=str(tmp_path))
    model = CustomModel()
    trainer = Trainer(
        default_root_dir=tmp_path,
        max_epochs=1,
        logger=logger,
        limit_train_batches=1,
        limit_val_batches=1,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model)
    trainer.test()

    log_metric_names = [(s, sorted(m.keys())) for s, m in logger.history]
    expected = [
        (0, ["epoch", "train_some_val"]),
        (0, ["early_stop_on", "epoch", "val_loss"]),
        (1, ["epoch", "test_loss"]),
    ]
    assert log_metric_names == expected
    # and what a user reads back: every one of those values is in the run
    run = naiad.Run(run_id=logger.version, store=tmp_path / "store", mode="read-only")
    try:
        assert len(run["training/train/some_val"].fetch_values()) == 1
        assert run["training/val/loss"].fetch_last() == pytest.approx(0.5)
        assert run["training/test/loss"].fetch_last() == pytest.approx(2.0)
    finally:
        run.close()


def test_loggers_pickle_all(tmp_path: Path) -> None:
    """Verify that pickling trainer with logger works."""
    logger = _instantiate_logger(tmp_path)
    # this can cause pickle error if the experiment object is not picklable
    # the logger needs to remove it from the state before pickle
    _ = logger.experiment
    # logger also has to avoid adding un-picklable attributes to self in .save
    logger.log_metrics({"a": 1})
    logger.save()
    # test pickling loggers
    pickle.dumps(logger)
    trainer = Trainer(max_epochs=1, logger=logger, enable_progress_bar=False)
    pkl_bytes = pickle.dumps(trainer)
    trainer2 = pickle.loads(pkl_bytes)
    trainer2.logger.log_metrics({"acc": 1.0})
    # make sure we restored properly
    assert trainer2.logger.name == logger.name
    assert trainer2.logger.save_dir == logger.save_dir
    logger.finalize("success")
    trainer2.logger.finalize("success")


def test_logger_with_prefix_all(tmp_path: Path) -> None:
    """Test that prefix is added at the beginning of the metric keys.

    Upstream asserts the backend call (``tmp-test``); in naiad the prefix is a namespace, so the
    value logged at step 0 is read back under ``training/tmp/``.
    """
    prefix = "tmp"
    logger = _instantiate_logger(tmp_path, prefix=prefix)
    logger.log_metrics({"test": 1.0}, step=0)
    logger.finalize("success")
    run = naiad.Run(run_id=logger.version, store=tmp_path / "store", mode="read-only")
    try:
        values = run[f"training/{prefix}/train/test"].fetch_values(include_timestamp=False)
        assert values["value"].tolist() == [1.0]
        assert not run.exists("training/train/test")
    finally:
        run.close()


def test_logger_name_version_save_dir_log_dir(tmp_path: Path) -> None:
    """name/version/save_dir/log_dir as Lightning's loggers give them: log_dir = save_dir/name/version."""
    logger = _instantiate_logger(tmp_path, run_id="v1")
    assert logger.name == "test-all"
    assert logger.version == "v1"
    assert logger.save_dir == str(tmp_path)
    assert Path(logger.log_dir) == tmp_path / "test-all" / "v1"
    trainer = Trainer(
        default_root_dir=tmp_path / "root",
        max_steps=1,
        logger=logger,
        limit_val_batches=0,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(BoringModel())
    assert trainer.log_dir == logger.save_dir  # Lightning's rule for loggers other than TensorBoard/CSV
    # the checkpoint follows the logger, as with every upstream logger
    assert Path(trainer.checkpoint_callback.dirpath) == Path(logger.log_dir) / "checkpoints"


def test_logger_default_name(tmp_path: Path) -> None:
    """Test that the default logger name is lightning_logs.

    Upstream asserts it for CSVLogger and TensorBoardLogger (``logger.name``) and MLFlowLogger
    (the experiment it creates); here the NaiadLogger built without an experiment name. The run
    itself joins no experiment (a naiad experiment is a lineage, not a folder).
    """
    logger = _instantiate_logger(tmp_path, experiment_name=None)
    assert logger.name == "lightning_logs"
    assert Path(logger.log_dir) == tmp_path / "lightning_logs" / logger.version
    _ = logger.experiment
    assert logger.name == "lightning_logs"
    logger.finalize("success")
    run = naiad.Run(run_id=logger.version, store=tmp_path / "store", mode="read-only")
    try:
        assert not run.exists("sys/experiment/name")
    finally:
        run.close()
