"""Track a PyTorch training loop: config, per-batch metrics, image predictions, the weights file."""

import numpy as np
import torch
from torch import nn

import naiad.neptune as neptune
from naiad.neptune.types import File
from naiad.neptune.utils import stringify_unsupported

torch.manual_seed(0)
parameters = {
    "lr": 1e-2,
    "bs": 16,
    "input_sz": 8,
    "n_classes": 2,
    "model_filename": "basemodel",
    "device": torch.device("cpu"),
    "epochs": 3,
    "hidden": [16, 8],
}

run = neptune.init_run(custom_run_id="pytorch-1", name="pytorch-basic", tags=["pytorch"])
run["config/hyperparameters"] = stringify_unsupported(parameters)
run["config/dataset/size"] = 64

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=parameters["lr"])
run["config/model"] = type(model).__name__
run["config/criterion"] = type(criterion).__name__
run["config/optimizer"] = type(optimizer).__name__

x = torch.randn(64, 8)
y = (x.sum(dim=1) > 0).long()
for _epoch in range(parameters["epochs"]):
    for i in range(0, 64, parameters["bs"]):
        xb, yb = x[i : i + parameters["bs"]], y[i : i + parameters["bs"]]
        optimizer.zero_grad()
        outputs = model(xb)
        loss = criterion(outputs, yb)
        acc = (outputs.argmax(dim=1) == yb).float().mean()
        run["training/batch/loss"].append(loss)  # a 0-d tensor, as Neptune took it
        run["training/batch/acc"].append(acc.item())
        loss.backward()
        optimizer.step()

for i in range(2):
    img = np.random.default_rng(i).random((8, 8, 3))
    run["images/predictions"].append(File.as_image(img), name=f"sample {i}")

torch.save(model.state_dict(), f"./{parameters['model_filename']}.pth")
run[f"io_files/artifacts/{parameters['model_filename']}"].upload(f"./{parameters['model_filename']}.pth")
run.stop()
