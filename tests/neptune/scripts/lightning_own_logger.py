"""A Lightning script written for Neptune, unedited: Lightning's own NeptuneLogger, through the opt-in.

The one line added is the opt-in, run before Lightning is imported.
"""

import naiad.neptune

naiad.neptune.install()

import lightning.pytorch as pl  # noqa: E402
import torch  # noqa: E402
from lightning.pytorch.loggers import NeptuneLogger  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402


class LitModel(pl.LightningModule):
    def __init__(self, lr=0.05):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


torch.manual_seed(0)
x = torch.randn(32, 4)
data = DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=8)
neptune_logger = NeptuneLogger(
    api_key=naiad.neptune.ANONYMOUS_API_TOKEN,
    project="common/pytorch-lightning-integration",
    tags=["simple", "showcase"],
    log_model_checkpoints=False,
    custom_run_id="lightning-own-1",
)
trainer = pl.Trainer(
    logger=neptune_logger,
    max_epochs=2,
    log_every_n_steps=1,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
)
trainer.fit(LitModel(), data)
neptune_logger.run["eval/note"] = "fit done"
print("logger", type(neptune_logger).__module__)
