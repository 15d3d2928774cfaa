"""``environment/…``: Python, platform, command line, installed packages, allow-listed variables.

Environment variables are captured only when their name is on ``ALLOWED_VARS`` (launcher and
device layout); nothing else, so tokens, passwords and cloud keys never reach the store. In the
command line, the value of an option whose name says it is a secret (``--api-key=…``,
``--password …``, ``--hf_token …``) is replaced by ``***``.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from collections.abc import Mapping
from typing import Any

ALLOWED_VARS = (
    "CUDA_VISIBLE_DEVICES", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
    "NODE_RANK", "OMP_NUM_THREADS", "RANK", "SLURM_JOB_ID", "SLURM_JOB_NAME", "SLURM_NNODES",
    "SLURM_NTASKS", "SLURM_PROCID", "TORCHELASTIC_RUN_ID", "VIRTUAL_ENV", "CONDA_DEFAULT_ENV",
    "WORLD_SIZE",
)  # fmt: skip


SECRET_OPTION = re.compile(
    r"^--?[\w.-]*(token|secret|password|passwd|api[_-]?key|access[_-]?key|credential)", re.I
)
MASK = "***"


def command_line(argv: list[str]) -> list[str]:
    """``argv`` with the values of secret-looking options masked."""
    out: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next and not arg.startswith("-"):
            out.append(MASK)
        elif SECRET_OPTION.match(arg) and "=" in arg:
            out.append(arg.split("=", 1)[0] + "=" + MASK)
        else:
            out.append(arg)
        mask_next = bool(SECRET_OPTION.match(arg)) and "=" not in arg
    return out


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
        "environment/command_line": json.dumps(command_line(sys.argv)),
        "environment/packages": "\n".join(packages),
    }
    for name in ALLOWED_VARS:
        if environ.get(name):
            out[f"environment/variables/{name}"] = environ[name]
    return out
