"""Issue 14's Lightning defects: each test failed before the fix and names what a user noticed."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

import lightning.pytorch as pl  # noqa: E402
from lightning.pytorch.callbacks import LearningRateMonitor  # noqa: E402
from test_lightning import BATCHES, Data, Tiny, points, read, trainer  # noqa: E402

import naiad  # noqa: E402
from naiad.errors import ConfigError  # noqa: E402
from naiad.integrations.lightning import NaiadLogger  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:The '\\w+_dataloader' does not have many workers"),
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
]


class StepLevel(Tiny):
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self._loss(batch), on_step=True, on_epoch=True)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test_loss", self._loss(batch), on_step=True, on_epoch=True)


def test_step_level_eval_values_have_their_own_series_and_the_epoch_mean_is_kept(tmp_path: Path) -> None:
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    t = trainer(logger, tmp_path, 2)
    model = StepLevel()
    with_warnings: list[Any] = []
    with pytest.warns() as caught:
        t.fit(model, datamodule=Data())
        with_warnings.extend(w for w in caught if issubclass(w.category, naiad.NaiadWarning))
    assert not with_warnings, [str(w.message) for w in with_warnings]
    run = read(store, logger.version)
    epoch_mean = t.callback_metrics["val_loss_epoch"].item()
    assert points(run, "training/val/loss")[-1] == (16.0, pytest.approx(epoch_mean))
    # one point per evaluation batch, x = evaluation batches so far (2 epochs x 8 batches)
    assert [s for s, _ in points(run, "training/val_step/loss")] == [float(i) for i in range(1, 17)]


def test_every_evaluation_after_fit_is_kept_even_at_the_same_step(tmp_path: Path) -> None:
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    t = trainer(logger, tmp_path, 1)
    model, data = Tiny(), Data()
    t.fit(model, datamodule=data)
    first = t.test(model, datamodule=data)[0]["test_loss"]
    other = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.ones(8, 3), torch.zeros(8, 1)), batch_size=4
    )
    second = t.test(model, dataloaders=other)[0]["test_loss"]
    t.validate(model, datamodule=data)
    run = read(store, logger.version)
    assert points(run, "training/test/loss") == [
        (float(BATCHES), pytest.approx(first)),
        (BATCHES + 0.001, pytest.approx(second)),
    ]
    assert [s for s, _ in points(run, "training/val/loss")] == [float(BATCHES), BATCHES + 0.001]


def test_log_metrics_without_a_step_appends_every_point(tmp_path: Path) -> None:
    logger = NaiadLogger(store=tmp_path / "store")
    logger.log_metrics({"b": 1.0})
    logger.log_metrics({"b": 2.0})
    logger.finalize("success")
    assert points(read(tmp_path / "store", logger.version), "training/train/b") == [(0.0, 1.0), (1.0, 2.0)]


def test_a_second_fit_with_the_same_logger_continues_the_x_axis(tmp_path: Path) -> None:
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    model = Tiny()
    trainer(logger, tmp_path, 1).fit(model, datamodule=Data())
    trainer(logger, tmp_path, 1).fit(model, datamodule=Data())  # stage two: a new Trainer
    run = read(store, logger.version)
    assert [s for s, _ in points(run, "training/train/loss")] == [float(s) for s in range(1, 2 * BATCHES + 1)]
    assert [x for _, x in points(run, "training/train/loss")] == model.batch_losses
    assert run.fetch()["training"]["fits"]["2"]["step_offset"] == BATCHES
    assert run.fetch()["sys"].get("diagnostics", {}).get("dropped", 0) == 0


class LogsStep(Tiny):
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self._loss(batch)
        self.log_dict({"step": float(100 + 10 * self.global_step), "custom": loss})
        return loss


def test_a_logged_step_key_is_the_x(tmp_path: Path) -> None:
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    pl.Trainer(
        logger=logger,
        max_steps=3,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    ).fit(LogsStep(), datamodule=Data())
    assert [s for s, _ in points(read(store, logger.version), "training/train/custom")] == [
        100.0,
        110.0,
        120.0,
    ]


def test_the_logger_and_a_fitted_trainer_pickle_and_copy(tmp_path: Path) -> None:
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    logger.experiment["notes"] = "before fit"
    t = trainer(logger, tmp_path, 1)
    t.fit(Tiny(), datamodule=Data())
    pickle.dumps(t)
    twin = copy.deepcopy(logger)
    clone = pickle.loads(pickle.dumps(logger))
    assert twin.version == clone.version == logger.version
    clone.log_metrics({"after": 1.0}, step=100)  # the copy logs into the same run
    clone.finalize("success")
    assert points(read(store, logger.version), "training/train/after") == [(100.0, 1.0)]


def test_save_dir_and_log_dir_follow_the_trainer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lightning.pytorch.profilers import SimpleProfiler

    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the report must follow default_root_dir, not the cwd
    root = tmp_path / "root"
    logger = NaiadLogger(experiment_name="e", store=tmp_path / "store")
    t = trainer(logger, root, 1, profiler=SimpleProfiler(filename="perf"))
    t.fit(Tiny(), datamodule=Data())
    assert logger.save_dir == str(root) == t.log_dir  # Lightning's log_dir for non-TB loggers
    assert logger.log_dir == str(root / "e" / logger.version)
    assert (root / "fit-perf.txt").is_file()  # SimpleProfiler wrote its report there
    assert not list(elsewhere.iterdir())


class TwoGroups(Tiny):
    def configure_optimizers(self) -> Any:
        first, second = self.net[0], self.net[2]
        return torch.optim.SGD(
            [{"params": first.parameters(), "lr": 0.1}, {"params": second.parameters(), "lr": 0.01}],
            momentum=0.9,
        )


def test_learning_rate_monitor_parameter_groups_use_the_standard_paths(tmp_path: Path) -> None:
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    pl.Trainer(
        logger=logger,
        max_steps=2,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        callbacks=[LearningRateMonitor(log_momentum=True)],
    ).fit(TwoGroups(), datamodule=Data())
    train = read(store, logger.version).fetch()["training"]["train"]
    assert (train["learning_rate"], train["learning_rate_pg2"]) == (0.1, 0.01)
    assert train["momentum"] == train["momentum_pg2"] == 0.9


def test_a_constructor_typo_raises_instead_of_logging_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"experimnt_name.*experiment_name"):
        NaiadLogger(experimnt_name="x", store=tmp_path / "store")  # type: ignore[call-arg]
    with pytest.raises(TypeError):  # ConfigError is a TypeError too
        NaiadLogger(experimnt_name="x")  # type: ignore[call-arg]


def test_log_model_best_uploads_the_best_file(tmp_path: Path) -> None:
    from lightning.pytorch.callbacks import ModelCheckpoint

    store = tmp_path / "store"
    logger = NaiadLogger(store=store, log_model="best")
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss")
    trainer(logger, tmp_path, 2, ckpt=ckpt).fit(Tiny(), datamodule=Data())
    cp = read(store, logger.version).fetch()["training"]["checkpoints"]
    assert "file" in cp["best"] and "file" not in cp["last"]
    assert cp["by_monitor"]["val_loss"]["path"] == cp["best"]["path"]


def test_media_helpers_store_an_image_a_table_and_text(tmp_path: Path) -> None:
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    logger.log_image("samples", [[0.0, 1.0], [1.0, 0.0]], step=1)
    logger.log_image("samples", torch.zeros(3, 4, 4), step=1)  # same step: kept, at 1.001
    logger.log_table("preds", [{"id": 1, "label": "cat"}], step=1)
    logger.log_text("notes", "hello", step=1)
    logger.finalize("success")
    run = read(store, logger.version)
    assert [s for s, _ in points(run, "training/images/samples")] == [1.0, 1.001]
    assert points(run, "training/text/notes") == [(1.0, "hello")]
    assert len(points(run, "training/tables/preds")) == 1


@pytest.mark.filterwarnings("ignore::UserWarning")  # Lightning's ddp_spawn advice on CPU
def test_ddp_spawn_on_two_cpu_processes_logs_once_from_rank_zero(tmp_path: Path) -> None:
    """experiment used before fit, then ddp_spawn with 2 processes: training completes, one run."""
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    logger.experiment["notes"] = "touched before fit"
    t = pl.Trainer(
        logger=logger,
        strategy="ddp_spawn",
        devices=2,
        accelerator="cpu",
        max_steps=2,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    t.fit(Tiny(), datamodule=Data())
    logger.finalize("success")
    run = read(store, logger.version)
    assert [s for s, _ in points(run, "training/train/loss")] == [1.0, 2.0]  # rank 0 only
    assert run.fetch()["notes"] == "touched before fit"


def test_two_loggers_in_one_trainer_each_fork_from_their_own_run_on_resume(tmp_path: Path) -> None:
    """Defect 7: each NaiadLogger keeps its own key in the checkpoint's callback state."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    store, ckpt_dir = tmp_path / "store", tmp_path / "ckpt"
    first = [NaiadLogger(experiment_name=name, store=store) for name in ("a", "b")]
    ckpt = ModelCheckpoint(dirpath=ckpt_dir, filename="{epoch}", save_top_k=-1)
    trainer(first, tmp_path, 2, ckpt=ckpt).fit(Tiny(), datamodule=Data())
    second = [NaiadLogger(store=store), NaiadLogger(store=store)]  # a new process
    ckpt2 = ModelCheckpoint(dirpath=ckpt_dir, filename="{epoch}", save_top_k=-1)
    with pytest.warns(UserWarning, match="exists and is not empty"):  # Lightning's, about ckpt_dir
        trainer(second, tmp_path, 2, ckpt=ckpt2).fit(
            Tiny(), datamodule=Data(), ckpt_path=ckpt_dir / "epoch=0.ckpt"
        )
    for parent, child in zip(first, second, strict=True):
        run = read(store, child.version)
        forking = run.fetch()["sys"]["forking"]
        assert (forking["parent"], forking["step"]) == (parent.version, BATCHES)
        assert run.experiment_name == parent.name
        assert [s for s, _ in points(run, "training/train/loss")] == [
            float(s) for s in range(1, 2 * BATCHES + 1)
        ]
