"""``environment/…``: Python, platform, command line, installed packages, allow-listed variables.

Environment variables are captured only when their name is on ``ALLOWED_VARS`` (launcher and
device layout); nothing else, so tokens, passwords and cloud keys never reach the store.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Mapping
from typing import Any

ALLOWED_VARS = (
    "CUDA_VISIBLE_DEVICES", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
    "NODE_RANK", "OMP_NUM_THREADS", "RANK", "SLURM_JOB_ID", "SLURM_JOB_NAME", "SLURM_NNODES",
    "SLURM_NTASKS", "SLURM_PROCID", "TORCHELASTIC_RUN_ID", "VIRTUAL_ENV", "CONDA_DEFAULT_ENV",
    "WORLD_SIZE",
)  # fmt: skip


def describe(environ: Mapping[str, str]) -> dict[str, Any]:
    """What to assign under ``environment/``."""
    from importlib import metadata

    packages = sorted(
        {f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]}
    )
    out: dict[str, Any] = {
        "environment/python": sys.version.split()[0],
        "environment/python_implementation": platform.python_implementation(),
        "environment/platform": platform.platform(),
        "environment/executable": sys.executable,
        "environment/command_line": json.dumps(sys.argv),
        "environment/packages": "\n".join(packages),
    }
    for name in ALLOWED_VARS:
        if environ.get(name):
            out[f"environment/variables/{name}"] = environ[name]
    return out
