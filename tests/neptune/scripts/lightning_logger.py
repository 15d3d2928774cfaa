"""Neptune's Lightning example: NeptuneLogger with tags, hyperparameters, metrics, a checkpoint."""

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from naiad.neptune.integrations.pytorch_lightning import NeptuneLogger


class LitModel(pl.LightningModule):
    def __init__(self, lr=0.05, hidden=8):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/loss", nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


torch.manual_seed(0)
x = torch.randn(32, 4)
data = TensorDataset(x, x.sum(dim=1, keepdim=True))
neptune_logger = NeptuneLogger(
    api_key="ANONYMOUS",
    project="team-alpha/seabird",
    name="lightning-demo",
    tags=["lightning", "mlp"],
    custom_run_id="lightning-1",
    log_model_checkpoints=True,
)
trainer = pl.Trainer(
    max_epochs=2,
    logger=neptune_logger,
    log_every_n_steps=1,
    enable_progress_bar=False,
    enable_model_summary=False,
    accelerator="cpu",
    default_root_dir="out",
)
trainer.fit(LitModel(), DataLoader(data, batch_size=8), DataLoader(data, batch_size=16))
neptune_logger.run["eval/note"] = "done"
neptune_logger.run["eval/bad"] = None  # Neptune's lenient rule: warned and skipped
