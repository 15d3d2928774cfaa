"""A multi-process transformers training (torchrun-style: 2 local CPU processes over gloo) logs
once, from rank 0, into one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("accelerate")
torch = pytest.importorskip("torch")
if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is needed", allow_module_level=True)

import naiad  # noqa: E402
import naiad.query  # noqa: E402

SCRIPT = textwrap.dedent(
    """
    import json

    import torch
    import torch.distributed as dist
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    import naiad.integrations.transformers  # registers report_to="naiad"


    class Tokens(torch.utils.data.Dataset):
        def __init__(self, n, seed):
            g = torch.Generator().manual_seed(seed)
            self.ids = torch.randint(1, 100, (n, 16), generator=g)
            self.labels = (self.ids[:, 0] > 50).long()

        def __len__(self):
            return len(self.ids)

        def __getitem__(self, i):
            return {"input_ids": self.ids[i], "labels": self.labels[i]}


    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=32, num_labels=2,
    )
    args = TrainingArguments(
        output_dir="out", use_cpu=True, report_to="naiad", run_name="ddp-bert", seed=0,
        per_device_train_batch_size=8, num_train_epochs=2, logging_steps=1, eval_strategy="steps",
        eval_steps=4, save_strategy="no", disable_tqdm=True, log_level="error", ddp_backend="gloo",
    )
    trainer = Trainer(
        model=BertForSequenceClassification(config), args=args,
        train_dataset=Tokens(64, 0), eval_dataset=Tokens(16, 1),
    )
    trainer.train()
    if trainer.is_world_process_zero():
        with open("history.json", "w") as f:
            json.dump({"world": dist.get_world_size(), "history": trainer.state.log_history}, f)
    """
)


def test_two_process_ddp_training_logs_once_from_rank_zero(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    env.update(NAIAD_STORE=str(tmp_path / "store"), NAIAD_PROJECT="ddp", OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ran = json.loads((tmp_path / "history.json").read_text())
    assert ran["world"] == 2  # really two processes
    runs = naiad.query.list_runs(project="ddp", store=tmp_path / "store")
    assert len(runs) == 1, runs  # rank 1 created no run
    with naiad.Run(run_id=runs[0], project="ddp", store=tmp_path / "store", mode="read-only") as run:
        assert run["sys/name"].fetch() == "ddp-bert"  # TrainingArguments.run_name
        assert run["training/status"].fetch() == "finished"
        loss = run["training/train/loss"].fetch_values(include_timestamp=False)
        entries = [e for e in ran["history"] if "loss" in e]
        assert loss["step"].tolist() == [float(e["step"]) for e in entries]
        assert loss["value"].tolist() == pytest.approx([e["loss"] for e in entries])
        assert len(entries) == 8  # 64 samples / (8 per device x 2 processes) x 2 epochs
        val = run["training/val/loss"].fetch_values(include_timestamp=False)["step"].tolist()
        assert val == [4.0, 8.0]
        assert run.fetch()["sys"].get("diagnostics", {}).get("dropped", 0) == 0
