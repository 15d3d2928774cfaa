"""LightningCLI with NaiadLogger (issue 14 defect 8): a real CLI invocation in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("lightning")
pytest.importorskip("jsonargparse")  # LightningCLI's parser: pip install 'naiad[test]'

import naiad

SCRIPT = textwrap.dedent(
    """
    import sys

    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.cli import LightningCLI
    from torch.utils.data import DataLoader, TensorDataset


    class Regressor(pl.LightningModule):
        def __init__(self, lr: float = 0.05, hidden: int = 4) -> None:
            super().__init__()
            self.save_hyperparameters()
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(
                torch.nn.Linear(3, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
            )

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


    class Points(pl.LightningDataModule):
        def __init__(self, batch_size: int = 4) -> None:
            super().__init__()
            self.save_hyperparameters()
            g = torch.Generator().manual_seed(0)
            x = torch.randn(32, 3, generator=g)
            self.ds = TensorDataset(x, x.sum(1, keepdim=True))

        def train_dataloader(self):
            return DataLoader(self.ds, batch_size=self.hparams.batch_size)

        val_dataloader = train_dataloader


    if __name__ == "__main__":
        cli = LightningCLI(Regressor, Points, args=sys.argv[1:])
        print("RUN", cli.trainer.logger.version, flush=True)
    """
)


def test_lightning_cli_fit_with_the_logger_saves_its_config_and_profile_and_logs(tmp_path: Path) -> None:
    """`python train.py fit --trainer.logger=...NaiadLogger`: SaveConfigCallback writes
    config.yaml, SimpleProfiler(filename=) its report, both under default_root_dir; the run has
    the CLI's hyperparameters and every step."""
    script, root, store = tmp_path / "train.py", tmp_path / "out", tmp_path / "store"
    script.write_text(SCRIPT)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    args = [
        "fit",
        "--trainer.logger=naiad.integrations.lightning.NaiadLogger",
        "--trainer.logger.experiment_name=cli",
        f"--trainer.logger.store={store}",
        "--trainer.max_epochs=2",
        "--trainer.log_every_n_steps=1",
        "--trainer.profiler=SimpleProfiler",
        "--trainer.profiler.filename=perf",
        f"--trainer.default_root_dir={root}",
        "--trainer.enable_progress_bar=false",
        "--model.lr=0.1",
        "--data.batch_size=8",
    ]
    done = subprocess.run(
        [sys.executable, str(script), *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("RUN "))
    config = (root / "config.yaml").read_text()
    assert "NaiadLogger" in config and "lr: 0.1" in config
    assert (root / "fit-perf.txt").is_file()
    assert not list(cwd.iterdir())  # nothing written beside the caller
    with naiad.Run(run_id=run_id, store=store, mode="read-only") as run:
        tr = run.fetch()["training"]
        assert run["sys/experiment/name"].fetch() == "cli"
        assert tr["hyperparams"]["lr"] == 0.1 and tr["hyperparams"]["batch_size"] == 8
        steps = run["training/train/loss"].fetch_values(include_timestamp=False)["step"].tolist()
        assert steps == [float(s) for s in range(1, 9)]  # 2 epochs x 4 batches
        val = run["training/val/loss"].fetch_values(include_timestamp=False)["step"].tolist()
        assert val == [4.0, 8.0]
