"""Lightning ``ddp_spawn`` on two CPU processes: one run, rank 0's metrics, every rank's monitoring."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

import lightning.pytorch as pl  # noqa: E402
from test_lightning import Data, Tiny, points, read  # noqa: E402

from naiad import query  # noqa: E402
from naiad.integrations.lightning import NaiadLogger  # noqa: E402
from naiad.testing import fields  # noqa: E402


class WaitForSample(pl.Callback):
    """Each rank ends its fit only once the store holds a system-metrics sample of its own
    (a 3-step fit is shorter than any sampling interval)."""

    def __init__(self, store: Path) -> None:
        self.store = store

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        path, deadline = f"monitoring/rank{trainer.global_rank}/cpu", time.monotonic() + 120
        while not any(path in fields(self.store, run) for run in query.list_runs(store=self.store)):
            assert time.monotonic() < deadline, f"{path} never stored"
            time.sleep(0.05)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Lightning's ddp_spawn advice on CPU
@pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")
def test_ddp_spawn_ranks_share_one_run_with_labelled_monitoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rank 0 logs the metrics once; rank 1 attaches as its own labelled session."""
    monkeypatch.setenv("NAIAD_MONITORING_PER", "rank")  # both ranks sample (default: once per node)
    monkeypatch.setenv("NAIAD_MONITORING_INTERVAL", "0.2")
    store = tmp_path / "store"
    logger = NaiadLogger(experiment_name="ddp", store=store)
    trainer = pl.Trainer(
        logger=logger,
        strategy="ddp_spawn",
        devices=2,
        accelerator="cpu",
        max_steps=3,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        callbacks=[WaitForSample(store)],
    )
    trainer.fit(Tiny(), datamodule=Data())
    assert query.list_runs(store=store) == [logger.version], "both ranks wrote into one run"
    run = read(store, logger.version)
    assert [s for s, _ in points(run, "training/train/loss")] == [1.0, 2.0, 3.0]  # rank 0's, once
    got = fields(store, logger.version)
    for rank in (0, 1):
        assert got[f"monitoring/rank{rank}/process_memory_gb"] > 0
        assert got[f"monitoring/rank{rank}/pid"] > 0
    assert got["monitoring/rank0/pid"] != got["monitoring/rank1/pid"]
    assert not [path for path in got if path.startswith("training/") and "rank1" in path]
    assert got["sys/state"] == "inactive" and got["sys/failed"] is False


TORCHRUN_SCRIPT = """
import sys, warnings
warnings.filterwarnings("ignore")
import lightning.pytorch as pl
sys.path.insert(0, sys.argv[2])
from test_lightning import Data, Tiny
from test_lightning_ddp import WaitForSample
from naiad.integrations.lightning import NaiadLogger

trainer = pl.Trainer(
    logger=NaiadLogger(experiment_name="ddp", store=sys.argv[1]), strategy="ddp", devices=2,
    accelerator="cpu", max_steps=3, log_every_n_steps=1, enable_progress_bar=False,
    enable_checkpointing=False, enable_model_summary=False, default_root_dir=".",
    callbacks=[WaitForSample(sys.argv[1])],
)
trainer.fit(Tiny(), datamodule=Data())
"""


def test_torchrun_ddp_ranks_each_build_a_logger_and_still_share_one_run(tmp_path: Path) -> None:
    """Under torchrun every rank constructs its own NaiadLogger (its own new id): rank 0's id wins."""
    script = tmp_path / "fit.py"
    script.write_text(TORCHRUN_SCRIPT)
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    env.update(NAIAD_MONITORING_PER="rank", NAIAD_MONITORING_INTERVAL="0.2", OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(script), str(store), str(Path(__file__).parent)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    runs = query.list_runs(store=store)
    assert len(runs) == 1, runs
    got = fields(store, runs[0])
    assert [s for s, _ in points(read(store, runs[0]), "training/train/loss")] == [1.0, 2.0, 3.0]
    for rank in (0, 1):
        assert got[f"monitoring/rank{rank}/process_memory_gb"] > 0
    assert got["monitoring/rank0/pid"] != got["monitoring/rank1/pid"]
    assert got["sys/state"] == "inactive" and got["sys/failed"] is False
