"""Histograms of activations and weights per epoch, from numpy and from torch."""

import numpy as np
import torch
from torch import nn

from naiad.neptune_scale import Run
from naiad.neptune_scale.types import Histogram

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 8), torch.randn(64, 1)

run = Run(run_id="histograms-1", experiment_name="histograms")
for epoch in range(3):
    optimizer.zero_grad()
    hidden = model[1](model[0](x))
    loss = nn.functional.mse_loss(model[2](hidden), y)
    loss.backward()
    optimizer.step()

    counts, bin_edges = np.histogram(hidden.detach().numpy(), bins=10)
    densities, density_edges = np.histogram(hidden.detach().numpy(), bins=5, density=True)
    weights = model[0].weight.detach().flatten()
    torch_counts, torch_edges = torch.histogram(weights, bins=8)
    run.log_histograms(
        histograms={
            "layers/0/activations": Histogram(bin_edges=bin_edges, counts=counts),
            "layers/0/activation_density": Histogram(bin_edges=density_edges, densities=densities),
            "layers/0/weights": Histogram(bin_edges=torch_edges, counts=torch_counts.int()),
            "layers/bad": Histogram(bin_edges=[0, 1], counts=[1, 2, 3]),
        },
        step=epoch,
    )
    run.log_metrics({"train/loss": loss.item()}, step=epoch)
run.close()
