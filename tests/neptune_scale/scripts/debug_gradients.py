"""Debugging a training run: per-layer gradient norms logged with the loss at every step."""

import torch
from torch import nn

from naiad.neptune_scale import Run


class SimpleModel(nn.Module):
    def __init__(self, input_size=16, hidden_size=8, output_size=2, depth=3):
        super().__init__()
        layers = [nn.Linear(input_size, hidden_size), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Linear(hidden_size, hidden_size), nn.ReLU()]
        layers.append(nn.Linear(hidden_size, output_size))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)

    def get_gradient_norms(self):
        return {
            f"debug/L2_grad_norm/{name}": param.grad.norm(2).item()
            for name, param in self.named_parameters()
            if param.grad is not None
        }


def main():
    params = {"batch_size": 8, "epochs": 3, "lr": 0.001, "num_layers": 5}
    torch.manual_seed(0)
    data, target = torch.randn(32, 16), torch.randint(0, 2, (32,))
    model = SimpleModel()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])

    run = Run(experiment_name="debugging-gradient-norms", run_id="debug-grad-1")
    print(run.get_experiment_url())
    run.log_configs(
        {
            "config/batch_size": params["batch_size"],
            "config/epochs": params["epochs"],
            "config/lr": params["lr"],
        }
    )
    run.add_tags(tags=["debug", "gradient-norm"])
    print(f"See configuration parameters:\n{run.get_experiment_url() + '&detailsTab=metadata'}")

    step_counter = 0
    for epoch in range(1, params["epochs"]):
        model.train()
        for i in range(0, len(data), params["batch_size"]):
            optimizer.zero_grad()
            output = model(data[i : i + params["batch_size"]])
            loss = criterion(output, target[i : i + params["batch_size"]])
            loss.backward()
            optimizer.step()
            run.log_metrics(
                data={"metrics/train/loss": loss.item(), "epoch": epoch, **model.get_gradient_norms()},
                step=step_counter,
            )
            step_counter += 1
    run.close()


if __name__ == "__main__":
    main()
