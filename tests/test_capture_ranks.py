"""One run, many processes: ranks attach by the launcher's id and end at different times (real processes)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from naiad import query
from naiad.testing import fields, series

# Each rank opens a Run without an id (a torchrun launch's variables give it), logs, then
# waits for the file named by its argument before it ends the way the test asks.
RANK_SCRIPT = """
import os, sys, time, naiad
store, gate, ending = sys.argv[1], sys.argv[2], sys.argv[3]
run = naiad.Run(store=store, experiment_name="ranks")
rank = int(os.environ["RANK"])
print(f"rank {rank} up", flush=True)
if rank == 0:
    run.log_metrics({"train/loss": 0.5}, step=1)
run.wait()
open(gate + ".attached", "w").close()
while not os.path.exists(gate):
    time.sleep(0.05)
if ending == "crash":
    raise RuntimeError(f"rank {rank} ran out of memory")
run.log_metrics({f"rank{rank}/late": 1.0}, step=2)
run.close()
"""


def start_rank(tmp_path: Path, store: Path, rank: int, gate: Path, ending: str) -> subprocess.Popen[str]:
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent(RANK_SCRIPT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    env.update(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", LOCAL_WORLD_SIZE="2",
        TORCHELASTIC_RUN_ID="job-17", NAIAD_MONITORING_INTERVAL="0.2", NAIAD_MONITORING_PER="rank",
    )  # fmt: skip
    return subprocess.Popen(
        [sys.executable, str(script), str(store), str(gate), ending],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    """Until ``path`` exists; fails with the process's stderr if it dies first."""
    deadline = time.monotonic() + 120
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"rank exited {proc.returncode} early: {proc.stderr.read() if proc.stderr else ''}")
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("ending", ["close", "crash"])
def test_ranks_ending_at_different_times_keep_the_run_active_until_the_last(
    tmp_path: Path, store: Path, ending: str
) -> None:
    """Rank 0 leaves first; the run stays active while rank 1 is attached, then ends as rank 1 did."""
    procs = [start_rank(tmp_path, store, r, tmp_path / f"gate{r}", ending if r else "close") for r in (0, 1)]
    for r, proc in enumerate(procs):
        wait_for(tmp_path / f"gate{r}.attached", proc)
    deadline = time.monotonic() + 120
    while not {"monitoring/rank0/cpu", "monitoring/rank1/cpu"} <= set(fields(store, "torchrun-job-17")):
        assert time.monotonic() < deadline, "a rank's sampler never stored a sample"
        time.sleep(0.05)
    (tmp_path / "gate0").touch()
    _, err0 = procs[0].communicate(timeout=120)
    assert procs[0].returncode == 0, err0
    assert query.list_runs(store=store) == ["torchrun-job-17"], "both ranks attached to one run"
    got = fields(store, "torchrun-job-17")
    assert got["sys/state"] == "active", "rank 1 is still attached"
    assert got["sys/failed"] is False

    (tmp_path / "gate1").touch()
    _, err1 = procs[1].communicate(timeout=120)
    got = fields(store, "torchrun-job-17")
    assert got["sys/state"] == "inactive"
    assert series(store, "torchrun-job-17", "train/loss") == [(1.0, 0.5)]
    assert got["monitoring/rank0/stdout"] == "rank 0 up" and got["monitoring/rank1/stdout"] == "rank 1 up"
    assert "monitoring/rank0/cpu" in got and "monitoring/rank1/cpu" in got
    if ending == "close":
        assert procs[1].returncode == 0, err1
        assert got["sys/failed"] is False and got["rank1/late"] == 1.0
    else:
        assert procs[1].returncode == 1 and "rank 1 ran out of memory" in err1
        assert got["sys/failed"] is True
        assert got["sys/diagnostics/failed_process"] == "rank1"
        assert got["sys/diagnostics/traceback"].rstrip().endswith("RuntimeError: rank 1 ran out of memory")
        assert "rank 1 ran out of memory" in got["monitoring/rank1/stderr"]


ATTACH_SCRIPT = """
import sys, naiad
with naiad.Run(store=sys.argv[1]) as run:
    print("attached")
"""


@pytest.mark.parametrize(
    ("launcher", "expected"),
    [
        ({"SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0", "SLURM_NTASKS": "2", "SLURM_PROCID": "{rank}",
          "SLURM_LOCALID": "{rank}"}, "slurm-4242-0"),
        ({"OMPI_COMM_WORLD_RANK": "{rank}", "OMPI_COMM_WORLD_SIZE": "2", "TORCHELASTIC_RUN_ID": "none"},
         f"torchrun-{platform.node()}-{os.getpid()}"),
    ],
    ids=["slurm", "torchrun-without-rdzv-id"],
)  # fmt: skip
def test_launchers_give_every_rank_the_same_run(
    tmp_path: Path, store: Path, launcher: dict[str, str], expected: str
) -> None:
    """SLURM's job and step, or torchrun's 'none' id made unique by the launching process."""
    script = tmp_path / "attach.py"
    script.write_text(ATTACH_SCRIPT)
    procs = []
    for rank in (0, 1):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NAIAD_", "SLURM_", "OMPI_"))}
        env.update({k: v.format(rank=rank) for k, v in launcher.items()})
        command = [sys.executable, str(script), str(store)]
        procs.append(subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert query.list_runs(store=store) == [expected]
    got = fields(store, expected)
    assert got["monitoring/rank0/stdout"] == got["monitoring/rank1/stdout"] == "attached"
    assert got["sys/state"] == "inactive" and got["sys/failed"] is False
