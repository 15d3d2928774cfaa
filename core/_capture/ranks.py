"""Which process of a (possibly distributed) job this is: rank, node, label, shared run id.

The launcher's variables come first (torchrun, SLURM, Open MPI, MPICH/PMI). A process whose
launcher sets none of them (Lightning's ``ddp_spawn``, ``torch.multiprocessing.spawn``) is
still placed when it has joined a ``torch.distributed`` process group before opening its run.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from collections.abc import Mapping

RANK_VARS = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")
LOCAL_RANK_VARS = ("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")
WORLD_VARS = ("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
TORCHRUN_NO_ID = "none"  # torchrun's --rdzv-id default outside its single-node auto mode


@dataclasses.dataclass(frozen=True)
class Process:
    """This process's place in the job; ``rank`` is None for a lone process."""

    rank: int | None
    local_rank: int | None
    world_size: int
    node: str

    @property
    def label(self) -> str:
        """The path segment under ``monitoring/``: ``rank<k>``, or ``main`` for a lone process."""
        return "main" if self.rank is None else f"rank{self.rank}"

    @property
    def is_main(self) -> bool:
        return not self.rank


def _first_int(environ: Mapping[str, str], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return None


def _process_group() -> tuple[int, int] | None:
    """(rank, world size) of an initialised ``torch.distributed`` group; never imports torch."""
    dist = sys.modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return int(dist.get_rank()), int(dist.get_world_size())
    except Exception:  # a half-torn-down group: place the process by its variables alone
        return None
    return None


def detect(environ: Mapping[str, str], rank: int | None = None) -> Process:
    """Where this process sits: the launcher's variables, else a joined torch process group."""
    world = _first_int(environ, WORLD_VARS)
    found = _first_int(environ, RANK_VARS) if rank is None else rank
    local = _first_int(environ, LOCAL_RANK_VARS)
    if world is None or found is None:
        group = _process_group()
        if group is not None:
            found = group[0] if found is None else found
            world = group[1] if world is None else world
    world = world or 1
    if found is None and world > 1:
        found = local
    return Process(found if (world > 1 or rank is not None) else None, local, world, platform.node())


def launcher_run_id(environ: Mapping[str, str]) -> str | None:
    """A run id every rank of one launch derives alike: torchrun's run id, else SLURM's job/step.

    torchrun without ``--standalone`` on several nodes (or with ``--master-port``) leaves its
    id at ``none``, the same for every launch: the id is then made unique per launch on this
    node from the launching agent's pid (ranks on other nodes get their own run; pass
    ``--rdzv-id`` or ``run_id`` to join them).
    """
    elastic = environ.get("TORCHELASTIC_RUN_ID")
    if elastic and elastic != TORCHRUN_NO_ID:
        return f"torchrun-{elastic}"
    if elastic:
        return f"torchrun-{platform.node()}-{os.getppid()}"
    job = environ.get("SLURM_JOB_ID")
    if job and (_first_int(environ, ("SLURM_NTASKS",)) or 1) > 1:
        step = environ.get("SLURM_STEP_ID")
        return f"slurm-{job}" + (f"-{step}" if step else "")
    return None
