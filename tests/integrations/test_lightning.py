"""PyTorch Lightning integration: a tiny real LightningModule fitted on CPU, read back from the store."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

import lightning.pytorch as pl  # noqa: E402
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint  # noqa: E402
from lightning.pytorch.loggers import Logger  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import naiad  # noqa: E402
from naiad.integrations.lightning import NaiadLogger  # noqa: E402

pytestmark = [
    # Lightning's advice for real workloads; irrelevant to a 32-sample CPU fit
    pytest.mark.filterwarnings("ignore:The '\\w+_dataloader' does not have many workers"),
    # Lightning 2.6 builds torch pytree LeafSpec objects, which torch 2.10+ deprecates
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
]

BATCHES = 8  # per epoch: 32 samples, batch size 4


class Tiny(pl.LightningModule):
    """Linear regression in two layers; records each batch's loss and can crash on demand."""

    def __init__(self, lr: float = 0.05, hidden: int = 4, seed: int = 7, fail_at: int | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(3, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
        )
        self.batch_losses: list[float] = []

    def _loss(self, batch: Any) -> Any:
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        if self.hparams.fail_at is not None and self.global_step >= self.hparams.fail_at:
            raise RuntimeError("boom")
        loss = self._loss(batch)
        self.batch_losses.append(loss.item())
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self._loss(batch))

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test_loss", self._loss(batch))

    def configure_optimizers(self) -> Any:
        opt = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9, weight_decay=1e-4)
        scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        return {"optimizer": opt, "lr_scheduler": scheduler}


class Data(pl.LightningDataModule):
    def __init__(self, batch_size: int = 4, n: int = 32) -> None:
        super().__init__()
        self.save_hyperparameters()
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n, 3, generator=g)
        self.ds = TensorDataset(x, x.sum(1, keepdim=True) + 0.1 * torch.randn(n, 1, generator=g))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.ds, batch_size=self.hparams.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.ds, batch_size=self.hparams.batch_size)

    test_dataloader = val_dataloader


class Recorder(Logger):
    """What Lightning hands to its loggers, to compare the store against."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, dict[str, float]]] = []

    @property
    def name(self) -> str:
        return "recorder"

    @property
    def version(self) -> str:
        return "0"

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.calls.append((int(step or 0), dict(metrics)))

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def values(self, key: str) -> list[float]:
        return [m[key] for _, m in self.calls if key in m]


def trainer(
    loggers: Any, tmp_path: Path, max_epochs: int, *, ckpt: ModelCheckpoint | None = None, **kw: Any
) -> pl.Trainer:
    callbacks = [LearningRateMonitor()] + ([ckpt] if ckpt is not None else [])
    return pl.Trainer(
        logger=loggers,
        max_epochs=max_epochs,
        callbacks=callbacks,
        log_every_n_steps=1,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=ckpt is not None,
        default_root_dir=tmp_path,
        **kw,
    )


def read(store: Path, run_id: str) -> naiad.Run:
    return naiad.Run(run_id=run_id, store=store, mode="read-only")


def points(run: naiad.Run, path: str, lineage: bool = True) -> list[tuple[float, Any]]:
    df = run[path].fetch_values(include_timestamp=False, lineage_to_the_root=lineage)
    return list(zip(df["step"].tolist(), df["value"].tolist()))


def test_fit_and_test_log_paths_steps_and_values_lightning_computed(tmp_path: Path) -> None:
    """Every §8 path a user looks for, with the keys, values and steps Lightning logged."""
    store, rec = tmp_path / "store", Recorder()
    logger = NaiadLogger(experiment_name="seabird", store=store, tags=["tiny"])
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss", save_top_k=2, save_last=True)
    model, data = Tiny(), Data()
    t = trainer([logger, rec], tmp_path, 3, ckpt=ckpt)
    t.fit(model, datamodule=data)
    t.test(model, datamodule=data)
    assert (logger.name, logger.version) == ("seabird", logger.experiment.run_id)

    run = read(store, logger.version)
    v = run.fetch()
    tr = v["training"]
    assert v["sys"]["tags"] == {"tiny"} and v["sys"]["failed"] is False
    assert tr["framework"] == {"name": "lightning", "version": pl.__version__}
    hp = tr["hyperparams"]
    assert (hp["lr"], hp["hidden"], hp["seed"], hp["batch_size"], hp["n"]) == (0.05, 4, 7, 4, 32)
    assert "fail_at" not in hp and tr["hyperparams_unset"] == {"fail_at"}  # None, not 'None'
    assert (
        hp["learning_rate"],
        hp["max_epochs"],
        hp["grad_accum_steps"],
        hp["optimizer"],
        hp["weight_decay"],
    ) == (0.05, 3, 1, "SGD", 1e-4)
    assert "max_steps" not in hp  # Lightning's -1: no limit
    assert tr["config"]["trainer"]["max_epochs"] == 3 and tr["config"]["trainer"]["precision"] == "32-true"
    opt = tr["config"]["optimizer"]
    assert (opt["class"], opt["momentum"], opt["initial_lr"], opt["scheduler"]) == (
        "SGD",
        0.9,
        0.05,
        "StepLR",
    )
    n = sum(p.numel() for p in model.parameters())
    assert tr["model"]["class"] == "Tiny" and tr["model"]["num_params"] == n == 21
    assert tr["model"]["num_trainable_params"] == n and "Sequential" in tr["model"]["summary"]

    # each series holds the values Lightning handed to loggers, at the optimizer updates completed
    steps = 3 * BATCHES
    expected = {
        "train_loss_step": ("train/loss", range(1, steps + 1)),
        "train_loss_epoch": ("train_epoch/loss", [8, 16, 24]),
        "val_loss": ("val/loss", [8, 16, 24]),  # Lightning itself passes 7, 15, 23
        "test_loss": ("test/loss", [24]),
        "lr-SGD": ("train/learning_rate", [0, 8, 16]),
    }  # at each epoch's start (StepLR)
    for key, (path, at) in expected.items():
        want = [(float(s), x) for s, x in zip(at, rec.values(key), strict=True)]
        assert points(run, f"training/{path}") == want, path
    assert "metrics" not in tr  # each value once, under its standardized path
    assert [x for _, x in points(run, "training/train/loss")] == model.batch_losses
    assert [x for _, x in points(run, "training/train/learning_rate")] == [0.05, 0.025, 0.0125]
    epochs = dict(points(run, "training/epoch"))
    assert (epochs[4.0], epochs[8.0], epochs[20.0], epochs[24.0]) == (0.5, 1.0, 2.5, 3.0)

    cp = tr["checkpoints"]
    saved = [p for _, p in points(run, "training/checkpoints/saved")]
    assert len(saved) == 6 and saved[-1] == cp["last"]["path"] == str(Path(ckpt.last_model_path).resolve())
    assert set(saved) == {str(p.resolve()) for p in (tmp_path / "ckpt").iterdir()} | {
        s for s in saved if not os.path.exists(s)
    }  # the top-2 rotation removed the others
    best = cp["best"]
    assert best["path"] == str(Path(ckpt.best_model_path).resolve())
    assert (best["score"], best["monitor"], best["mode"]) == (ckpt.best_model_score.item(), "val_loss", "min")
    assert best["step"] in (8, 16, 24) and best["size"] == os.path.getsize(ckpt.best_model_path)
    assert best["sha256"] == hashlib.sha256(Path(ckpt.best_model_path).read_bytes()).hexdigest()
    assert cp["last"]["step"] == steps and "file" not in cp["last"]  # no upload by default


def test_resume_from_a_mid_training_checkpoint_forks_a_child_with_a_continuous_curve(tmp_path: Path) -> None:
    """After the first fit logged past the checkpoint, the resumed fit stitches on at its step."""
    store, ckpt_dir = tmp_path / "store", tmp_path / "ckpt"
    first = NaiadLogger(experiment_name="seabird", store=store)
    ckpt = ModelCheckpoint(dirpath=ckpt_dir, filename="{epoch}", save_top_k=-1)
    trainer(first, tmp_path, 4, ckpt=ckpt).fit(Tiny(), datamodule=Data())
    parent = read(store, first.version)
    assert points(parent, "training/train/loss")[-1][0] == 4 * BATCHES

    second = NaiadLogger(store=store)  # a new process: nothing but the checkpoint links the runs
    resumed = Tiny()
    ckpt2 = ModelCheckpoint(dirpath=ckpt_dir, filename="{epoch}", save_top_k=-1)
    with pytest.warns(UserWarning, match="exists and is not empty"):  # Lightning's, about ckpt_dir
        trainer(second, tmp_path, 4, ckpt=ckpt2).fit(
            resumed, datamodule=Data(), ckpt_path=ckpt_dir / "epoch=1.ckpt"
        )
    child = read(store, second.version)
    fork = 2 * BATCHES
    sys_ = child.fetch()["sys"]
    assert sys_["forking"]["parent"] == first.version and sys_["forking"]["step"] == fork
    assert child.experiment_name == "seabird" and second.version != first.version
    resume = child.fetch()["training"]["resume"]
    assert resume == {
        "checkpoint": str(ckpt_dir / "epoch=1.ckpt"),
        "step": fork,
        "epoch": 2.0,
        "source": "Trainer.fit(ckpt_path)",
    }

    stitched = points(child, "training/train/loss")
    own = points(child, "training/train/loss", lineage=False)
    assert [s for s, _ in stitched] == [float(s) for s in range(1, 4 * BATCHES + 1)]  # strictly increasing
    assert stitched == [p for p in points(parent, "training/train/loss") if p[0] <= fork] + own
    assert own == [(float(fork + 1 + i), x) for i, x in enumerate(resumed.batch_losses)]
    # same data, restored weights and optimizer: the resumed fit retraces the original one
    original = [x for s, x in points(parent, "training/train/loss") if s > fork]
    assert [x for _, x in own] == pytest.approx(original)
    assert [s for s, _ in points(child, "training/val/loss")] == [8.0, 16.0, 24.0, 32.0]
    assert child.fetch()["training"]["hyperparams"]["lr"] == 0.05


def test_accumulated_gradients_step_once_per_optimizer_update(tmp_path: Path) -> None:
    """With accumulate_grad_batches=2 the step counts updates: half the batches, epoch 1.0 at 4."""
    store = tmp_path / "store"
    logger, model = NaiadLogger(store=store), Tiny()
    trainer(logger, tmp_path, 2, accumulate_grad_batches=2).fit(model, datamodule=Data())
    run = read(store, logger.version)
    # Lightning logs the batch that completes each update
    completing = model.batch_losses[1::2]
    assert points(run, "training/train/loss") == [(float(k + 1), x) for k, x in enumerate(completing)]
    assert dict(points(run, "training/epoch"))[4.0] == 1.0
    assert [s for s, _ in points(run, "training/val/loss")] == [4.0, 8.0]
    tr = run.fetch()["training"]
    assert tr["hyperparams"]["grad_accum_steps"] == 2
    assert tr["config"]["trainer"]["accumulate_grad_batches"] == 2


def test_a_training_that_raises_is_marked_failed_and_keeps_its_points(tmp_path: Path) -> None:
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    with pytest.raises(RuntimeError, match="boom"):
        trainer(logger, tmp_path, 2).fit(Tiny(fail_at=5), datamodule=Data())
    run = read(store, logger.version)
    v = run.fetch()
    assert v["sys"]["failed"] is True and "boom" in v["sys"]["diagnostics"]["exception"]
    assert [s for s, _ in points(run, "training/train/loss")] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_logging_problem_warns_and_never_raises(tmp_path: Path) -> None:
    """The same key twice at one step with another value: dropped with a warning, counted."""
    store = tmp_path / "store"
    logger = NaiadLogger(store=store)
    logger.log_metrics({"val_loss": 0.5}, step=3)
    logger.log_metrics({"val_loss": 0.5}, step=3)  # an identical re-send is fine
    with pytest.warns(naiad.NaiadWarning) as caught:
        logger.log_metrics({"val_loss": 0.7}, step=3)
    assert any("'training/val/loss'" in str(w.message) for w in caught)
    logger.finalize("success")
    run = read(store, logger.version)
    assert points(run, "training/val/loss") == [(3.0, 0.5)]
    assert run.fetch()["sys"]["diagnostics"]["dropped"] >= 1


def test_explicit_fork_from_and_run_id_continue(tmp_path: Path) -> None:
    store = tmp_path / "store"
    base = NaiadLogger(experiment_name="e", run_id="base", store=store)
    for s in range(1, 6):
        base.log_metrics({"train_loss": float(s)}, step=s)
    base.finalize("success")
    child = NaiadLogger(store=store, fork_from=("base", 3))
    child.log_metrics({"train_loss": 40.0}, step=4)
    child.finalize("success")
    again = NaiadLogger(store=store, run_id=child.version)  # continues the child
    again.log_metrics({"train_loss": 50.0}, step=5)
    again.finalize("success")
    run = read(store, child.version)
    assert points(run, "training/train/loss") == [
        (1.0, 1.0),
        (2.0, 2.0),
        (3.0, 3.0),
        (4.0, 40.0),
        (5.0, 50.0),
    ]
    assert run.experiment_name == "e" and run.fetch()["training"]["resume"]["source"] == "fork_from"


def test_import_naiad_without_lightning_then_the_integration_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['lightning'] = None\n"
        "sys.modules['pytorch_lightning'] = None\n"
        "import naiad\n"
        "try:\n"
        "    import naiad.integrations.lightning\n"
        "except ModuleNotFoundError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ERR" in out.stdout and "pip install 'naiad[lightning]'" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow  # a fresh interpreter imports torch and Lightning again
def test_works_under_the_pytorch_lightning_package_name(tmp_path: Path) -> None:
    """With only ``pytorch_lightning`` importable, the logger builds on it and logs a fit."""
    pytest.importorskip("pytorch_lightning")
    code = (
        "import sys, warnings\n"
        "sys.modules['lightning'] = None\n"
        "warnings.filterwarnings('ignore', message='.*(LeafSpec|many workers)')\n"
        "import torch, pytorch_lightning as PL, naiad\n"
        "from naiad.integrations.lightning import NaiadLogger\n"
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "class M(PL.LightningModule):\n"
        "    def __init__(self):\n"
        "        super().__init__(); self.l = torch.nn.Linear(2, 1)\n"
        "    def training_step(self, b, i):\n"
        "        loss = self.l(b[0]).pow(2).mean(); self.log('train_loss', loss); return loss\n"
        "    def configure_optimizers(self):\n"
        "        return torch.optim.SGD(self.parameters(), lr=0.1)\n"
        "store = sys.argv[1]\n"
        "logger = NaiadLogger(store=store)\n"
        "PL.Trainer(logger=logger, max_steps=3, log_every_n_steps=1, enable_progress_bar=False,\n"
        "           enable_model_summary=False, enable_checkpointing=False).fit(\n"
        "    M(), DataLoader(TensorDataset(torch.ones(8, 2)), batch_size=2))\n"
        "run = naiad.Run(run_id=logger.version, store=store, mode='read-only')\n"
        "steps = run['training/train/loss'].fetch_values()['step'].tolist()\n"
        "print(type(logger).__mro__[1].__module__, steps,\n"
        "      'lightning' in sys.modules and sys.modules['lightning'] is not None)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "store")], capture_output=True, text=True, check=False
    )
    assert out.stdout.strip().endswith("pytorch_lightning.loggers.logger [1.0, 2.0, 3.0] False"), out.stderr


def test_quickstart_example_trains_logs_and_summarizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's job, in the test's own interpreter (the imports are already paid for)."""
    import importlib.util

    monkeypatch.setenv("PL_GLOBAL_SEED", "0")  # restored afterwards; seed_everything sets it
    path = Path(__file__).resolve().parents[2] / "examples" / "lightning_quickstart.py"
    spec = importlib.util.spec_from_file_location("lightning_quickstart", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main(["--epochs", "2"])  # into ./.naiad of the test's working directory
    out = capsys.readouterr().out
    assert f"stored at {tmp_path / '.naiad'}" in out and "best checkpoint at step 56" in out
    run_id = out.split("\nrun ", 1)[1].split()[0]
    run = read(tmp_path / ".naiad", run_id)
    assert run.experiment_name == "lightning-quickstart"
    assert [s for s, _ in points(run, "training/val/loss")] == [28.0, 56.0]  # 896 samples, batch 32
