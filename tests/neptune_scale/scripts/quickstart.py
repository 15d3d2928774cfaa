"""Quickstart: configs, a metrics loop, tags and a string series (neptune-scale style)."""

import math
import random
from datetime import datetime

from naiad.neptune_scale import Run


def main():
    run = Run(
        run_id="quickstart-1",
        experiment_name="quickstart-experiment",
        api_token="eyJhcGlfdXJsIjogImh0dHBzOi8vYXBwLm5lcHR1bmUuYWkifQ==",
    )

    run.log_configs(
        {
            "parameters/learning_rate": 0.001,
            "parameters/batch_size": 64,
            "parameters/optimizer": "Adam",
            "parameters/use_amp": False,
            "parameters/layers": ["conv", "pool", "dense"],
            "data/started_at": datetime(2025, 1, 2, 3, 4, 5),
        }
    )
    run.log_configs(
        {"model": {"name": "resnet", "depth": 18, "input_size": (3, 32, 32)}},
        flatten=True,
        cast_unsupported=True,
    )
    run.add_tags(tags=["quickstart", "script"])
    run.add_tags(["group-a"], group_tags=True)

    random.seed(0)
    for step in range(1, 51):
        loss = math.exp(-step / 20) + random.random() * 0.01
        run.log_metrics(
            data={
                "train/metrics/loss": loss,
                "train/metrics/accuracy": 1 - loss / 2,
                "train/epoch": step // 10,
            },
            step=step,
        )
        if step % 10 == 0:
            run.log_metrics({"eval/metrics/loss": loss * 1.1}, step=step)
            run.log_string_series({"train/notes": f"epoch {step // 10} done"}, step=step)

    run.remove_tags(["script"])
    run.log_configs({"summary/final_loss": loss})
    print(run.get_run_url())
    run.close()


if __name__ == "__main__":
    main()
