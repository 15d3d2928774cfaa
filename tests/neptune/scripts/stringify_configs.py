"""Configs from argparse and nested dicts, made storable with stringify_unsupported (expand or not)."""

import argparse
from pathlib import Path

import numpy as np

import naiad.neptune as neptune
from naiad.neptune.utils import stringify_unsupported

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=3e-4)
parser.add_argument("--layers", type=int, nargs="+", default=[64, 32])
parser.add_argument("--out", type=Path, default=Path("outputs"))
parser.add_argument("--scheduler", default=None)
args = parser.parse_args([])

run = neptune.init_run(custom_run_id="configs-1")
run["args"] = stringify_unsupported(vars(args))
run["model"] = stringify_unsupported(
    {"sizes": [4, np.int64(8)], "act": {"name": "gelu", "approx": (True, "tanh")}}, expand=True
)
run["raw"] = {"ok": np.float32(0.5), "bad": [1, 2], "also_bad": None}  # the list and None are skipped
run.stop()
