"""HPO: a sweep-level run and one run per trial, tied together by a group tag."""

import torch
from torch import nn

from naiad.neptune_scale import Run

parameters = {
    "batch_size": 16,
    "input_size": (1, 4, 4),
    "n_classes": 3,
    "epochs": 2,
    "device": torch.device("cpu"),
}
learning_rates = [0.025, 0.05, 0.075]

torch.manual_seed(0)
x = torch.randn(48, 16)
y = torch.randint(0, parameters["n_classes"], (48,))

if __name__ == "__main__":
    sweep_id = "sweep-42"
    sweep_run = Run(run_id="sweep-run")
    sweep_run.add_tags(["sweep", "script"])
    sweep_run.add_tags([sweep_id], group_tags=True)
    sweep_run.log_configs({"config": parameters}, flatten=True, cast_unsupported=True)

    best_acc = None
    for trial, lr in enumerate(learning_rates):
        with Run(run_id=f"trial-{trial}") as trial_run:
            trial_run.add_tags(["trial", "script"])
            trial_run.add_tags([sweep_id], group_tags=True)
            trial_run.log_configs({"trial_num": trial, "parameters/lr": lr})

            model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, parameters["n_classes"]))
            optimizer = torch.optim.SGD(model.parameters(), lr=lr)
            criterion = nn.CrossEntropyLoss()
            step = 0
            for epoch in range(parameters["epochs"]):
                trial_run.log_metrics(data={"epochs": epoch}, step=epoch)
                for i in range(0, len(x), parameters["batch_size"]):
                    xb, yb = x[i : i + parameters["batch_size"]], y[i : i + parameters["batch_size"]]
                    optimizer.zero_grad()
                    outputs = model(xb)
                    loss = criterion(outputs, yb)
                    _, preds = torch.max(outputs, 1)
                    acc = (torch.sum(preds == yb.data)) / len(xb)
                    trial_run.log_metrics(
                        data={"metrics/batch/loss": float(loss), "metrics/batch/acc": float(acc)},
                        step=step,
                    )
                    if best_acc is None or acc > best_acc:
                        best_acc = acc
                        sweep_run.log_configs(
                            {
                                "best/trial": trial,
                                "best/metrics/loss": float(loss),
                                "best/metrics/acc": float(acc),
                                "best/parameters/lr": lr,
                            }
                        )
                    loss.backward()
                    optimizer.step()
                    step += 1
    sweep_run.close()
