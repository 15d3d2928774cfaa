"""PyTorch Lightning quickstart: train a tiny regression model with NaiadLogger.

Run it with ``python examples/lightning_quickstart.py`` (a few seconds of training on a laptop
CPU, plus importing torch and Lightning). The data goes to ``./.naiad`` unless ``--store`` says
otherwise; it needs ``pip install 'naiad[lightning]'``.

Lightning's own ``self.log`` calls, ``save_hyperparameters()``, the ``ModelCheckpoint`` and the
``LearningRateMonitor`` all end up under ``training/`` in the run; the script then reads the
run back and prints a short summary.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset, random_split

import naiad
from naiad.integrations.lightning import NaiadLogger

# Lightning 2.6 on torch >= 2.10 warns about its own use of a deprecated torch internal
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")


class Regressor(pl.LightningModule):
    def __init__(self, lr: float = 0.01, hidden: int = 32, weight_decay: float = 1e-4) -> None:
        super().__init__()
        self.save_hyperparameters()  # logged under training/hyperparams/
        self.net = torch.nn.Sequential(
            torch.nn.Linear(8, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def _loss(self, batch: Any) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train_loss", loss, on_step=True, on_epoch=True)  # → training/train/loss
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self._loss(batch))  # → training/val/loss

    def configure_optimizers(self) -> Any:
        opt = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        return {"optimizer": opt, "lr_scheduler": scheduler}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="store directory (default: ./.naiad)")
    parser.add_argument("--experiment", default="lightning-quickstart", help="experiment name")
    parser.add_argument("--epochs", type=int, default=5, help="epochs (default: 5)")
    parser.add_argument("--lr", type=float, default=0.01, help="AdamW learning rate (default: 0.01)")
    args = parser.parse_args(argv)

    pl.seed_everything(0, verbose=False)
    x = torch.rand(1024, 8)
    y = x @ torch.rand(8, 1) + 0.1 * torch.randn(1024, 1)
    train, val = random_split(TensorDataset(x, y), [896, 128])

    logger = NaiadLogger(experiment_name=args.experiment, store=args.store, tags=["example"])
    with tempfile.TemporaryDirectory() as ckpt_dir:
        trainer = pl.Trainer(
            max_epochs=args.epochs,
            logger=logger,
            log_every_n_steps=4,
            accelerator="cpu",
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[
                ModelCheckpoint(dirpath=ckpt_dir, monitor="val_loss", save_last=True),
                LearningRateMonitor(),
            ],
        )
        trainer.fit(
            Regressor(lr=args.lr),
            DataLoader(train, batch_size=32, shuffle=True),
            DataLoader(val, batch_size=128),
        )

    run = naiad.Run(run_id=logger.version, store=args.store, mode="read-only")
    training = run.fetch()["training"]
    loss = run["training/train/loss"].fetch_values(include_timestamp=False)
    val_loss = run["training/val/loss"].fetch_values(include_timestamp=False)
    print(f"\nrun {run.run_id} ({run.sys_id}) of experiment {run.experiment_name!r}")
    print(f"  stored at {run.store_location}")
    print(
        f"  model {training['model']['class']}: {training['model']['num_params']} parameters; "
        f"lr {training['hyperparams']['learning_rate']}, optimizer {training['hyperparams']['optimizer']}"
    )
    print(
        f"  training/train/loss: {len(loss)} points, steps {int(loss['step'].iloc[0])}.."
        f"{int(loss['step'].iloc[-1])}; last {loss['value'].iloc[-1]:.4f}"
    )
    print(
        "  training/val/loss by step: "
        + ", ".join(f"{int(s)}: {v:.4f}" for s, v in zip(val_loss["step"], val_loss["value"]))
    )
    best = training["checkpoints"]["best"]
    print(
        f"  best checkpoint at step {best['step']}: {best['monitor']} = {best['score']:.4f} "
        f"(sha256 {best['sha256'][:12]}…)"
    )
    print(f"  see it with: naiad show {run.run_id}" + (f" --store {args.store}" if args.store else ""))
    run.close()


if __name__ == "__main__":
    main()
