"""Which process of a (possibly distributed) job this is: rank, node, label, shared run id."""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Mapping

RANK_VARS = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")
LOCAL_RANK_VARS = ("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")
WORLD_VARS = ("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")


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


def detect(environ: Mapping[str, str], rank: int | None = None) -> Process:
    """Read the launcher's variables (torchrun, SLURM, Open MPI, MPICH/PMI)."""
    world = _first_int(environ, WORLD_VARS) or 1
    found = _first_int(environ, RANK_VARS) if rank is None else rank
    local = _first_int(environ, LOCAL_RANK_VARS)
    if found is None and world > 1:
        found = local
    return Process(found if (world > 1 or rank is not None) else None, local, world, platform.node())


def launcher_run_id(environ: Mapping[str, str]) -> str | None:
    """A run id every rank of one launch derives alike: torchrun's run id, else SLURM's job/step."""
    if environ.get("TORCHELASTIC_RUN_ID"):
        return f"torchrun-{environ['TORCHELASTIC_RUN_ID']}"
    job = environ.get("SLURM_JOB_ID")
    if job and (_first_int(environ, ("SLURM_NTASKS",)) or 1) > 1:
        step = environ.get("SLURM_STEP_ID")
        return f"slurm-{job}" + (f"-{step}" if step else "")
    return None
