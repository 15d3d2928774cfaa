"""Neptune's TensorBoard example: a PyTorch loop writing to SummaryWriter, mirrored into the run."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch.utils.tensorboard import SummaryWriter

import naiad.neptune as neptune
from naiad.neptune.integrations.tensorboard import disable_tensorboard_logging, enable_tensorboard_logging

run = neptune.init_run(
    project="common/tensorboard-integration",
    api_token=neptune.ANONYMOUS_API_TOKEN,
    tags=["tensorboard", "test"],
    custom_run_id="tb-1",
)
enable_tensorboard_logging(run)

torch.manual_seed(0)
x = torch.randn(64, 3)
y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(64)
x_val, y_val = x[48:], y[48:]
model = torch.nn.Linear(3, 1)
params = {"lr": 0.1, "epochs": 6, "optimizer": "SGD"}
optimizer = torch.optim.SGD(model.parameters(), lr=params["lr"])

writer = SummaryWriter(log_dir="tb_logs")
writer.add_text("notes", "linear regression on synthetic data", 0)
losses = []
for epoch in range(params["epochs"]):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x[:48]).squeeze(1), y[:48])
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        val_loss = torch.nn.functional.mse_loss(model(x_val).squeeze(1), y_val)
    writer.add_scalar("Loss/train", loss, epoch)
    writer.add_scalars("Loss/compare", {"train": loss.item(), "val": val_loss.item()}, epoch)
    losses.append([loss.item(), val_loss.item()])
fig, ax = plt.subplots()
ax.plot([t for t, _ in losses])
writer.add_figure("charts/loss", fig, global_step=params["epochs"])
writer.add_hparams(params, {"hparam/val_loss": losses[-1][1]}, run_name="hp")
writer.close()
disable_tensorboard_logging()
with SummaryWriter(log_dir="tb_logs_after") as after:
    after.add_scalar("after/disable", 1.0, 0)  # TensorBoard only
print(json.dumps(losses))
run.stop()
