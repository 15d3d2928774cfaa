"""Configs from dataclasses (nested, flattened), None, and an argparse namespace."""

import argparse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from naiad.neptune_scale import Run


@dataclass
class OptimizerConfig:
    name: str = "adamw"
    lr: float = 3e-4
    betas: tuple = (0.9, 0.95)


@dataclass
class TrainConfig:
    seed: int = 1234
    max_steps: int = 100
    output_dir: Path = Path("checkpoints")
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    started: datetime = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


parser = argparse.ArgumentParser()
parser.add_argument("--warmup", type=int, default=10)
args = parser.parse_args([])

with Run(run_id="dataclass-configs", experiment_name="llm-pretrain") as run:
    run.log_configs(None)  # a script that has no extra config yet
    run.log_configs(TrainConfig(), flatten=True, cast_unsupported=True)
    run.log_configs(vars(args))
    run.log_configs(
        {
            "data/tokens": np.int64(1_000_000),
            "data/fraction": np.float32(0.5),
            "data/name": "fineweb",
            "data/unsupported": None,
            "data/nested": {"not": "flattened"},
        }
    )
    run.log_configs({"cast/none": None, "cast/path": Path("a/b.txt")}, cast_unsupported=True)
