"""What each integration's own code costs per optimizer step, in a real tiny training.

For Lightning (``NaiadLogger``), Keras (``NaiadCallback``) and transformers (``NaiadCallback``)
alike: a tiny model trains for ``--steps`` optimizer steps on CPU (1 torch thread) with the
naiad integration, every step logged. Every hook of the integration the framework calls
(``log_metrics``, ``on_*``, ``after_save_checkpoint``, ...) is wrapped with a timer, so the table
shows the calling thread's time inside naiad per step: what training waits for. The background
writer's CPU is not in it (``training_overhead.py`` counts the whole process for Lightning).
Each framework runs in its own fresh process, repeated; medians. Console capture and system
metrics are off, as they do not scale with steps.

    python benchmarks/integration_hooks.py                  # 500 steps, 3 repeats
    python benchmarks/integration_hooks.py --only keras --steps 200
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

WORKER = r"""
import json, os, sys, time
os.environ.setdefault("KERAS_BACKEND", "torch")
import torch
torch.set_num_threads(1)
framework, steps = sys.argv[1], int(sys.argv[2])
spent = [0.0]
calls = [0]

def timed(obj, names):
    for name in names:
        fn = getattr(obj, name)
        def wrapper(*a, _fn=fn, **k):
            t = time.thread_time()
            try:
                return _fn(*a, **k)
            finally:
                spent[0] += time.thread_time() - t
                calls[0] += 1
        setattr(obj, name, wrapper)

def hooks(obj, extra=()):
    return [n for n in dir(type(obj)) if n.startswith("on_") and callable(getattr(obj, n))] + list(extra)

if framework == "lightning":
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader, TensorDataset
    from naiad.integrations.lightning import NaiadLogger

    class M(pl.LightningModule):
        def __init__(self):
            super().__init__(); self.net = torch.nn.Linear(4, 1)
        def training_step(self, batch, i):
            x, y = batch; loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss); self.log("train_mae", (self.net(x) - y).abs().mean()); return loss
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    x = torch.randn(4 * steps, 4)
    logger = NaiadLogger()
    timed(logger, ["log_metrics", "log_hyperparams", "after_save_checkpoint", "finalize"])
    timed(logger.callback, hooks(logger.callback))
    pl.Trainer(logger=logger, max_steps=steps, log_every_n_steps=1, enable_progress_bar=False,
               enable_checkpointing=False, enable_model_summary=False).fit(
        M(), DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4))
elif framework == "keras":
    import keras, numpy as np
    from naiad.integrations.keras import NaiadCallback
    x = np.random.default_rng(0).random((16 * steps, 4), dtype=np.float32)
    layers = [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    cb = NaiadCallback()
    timed(cb, hooks(cb))
    model.fit(x, x.sum(1, keepdims=True), batch_size=16, epochs=1, verbose=0, callbacks=[cb])
else:
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    from naiad.integrations.transformers import NaiadCallback

    class Tokens(torch.utils.data.Dataset):
        def __init__(self, n):
            g = torch.Generator().manual_seed(0); self.ids = torch.randint(1, 100, (n, 16), generator=g)
        def __len__(self): return len(self.ids)
        def __getitem__(self, i): return {"input_ids": self.ids[i], "labels": (self.ids[i, 0] > 50).long()}

    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32, num_labels=2)
    args = TrainingArguments(output_dir="out", use_cpu=True, report_to="none", max_steps=steps,
                             per_device_train_batch_size=8, logging_steps=1, save_strategy="no",
                             disable_tqdm=True, log_level="error")
    cb = NaiadCallback()
    timed(cb, hooks(cb))
    Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=Tokens(8 * steps),
            callbacks=[cb]).train()
print(json.dumps({"ms_per_step": spent[0] * 1e3 / steps, "calls_per_step": calls[0] / steps}))
"""


def once(framework: str, steps: int) -> dict[str, float] | str:
    with tempfile.TemporaryDirectory(prefix="naiad-hooks-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
        env.update(
            NAIAD_STORE=os.path.join(tmp, "store"),
            NAIAD_CAPTURE_HARDWARE_METRICS="false",
            NAIAD_CAPTURE_STDOUT="false",
            NAIAD_CAPTURE_STDERR="false",
        )
        done = subprocess.run(
            [sys.executable, "-c", WORKER, framework, str(steps)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return (done.stderr.strip().splitlines() or ["failed"])[-1]
        result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="lightning,keras,transformers")
    opts = parser.parse_args()
    print(
        f"time in naiad's hooks per optimizer step (calling thread CPU), {opts.steps} steps, "
        f"medians of {opts.repeats}"
    )
    print(f"{'integration':<14}{'ms/step':>9}{'hook calls/step':>17}")
    for framework in opts.only.split(","):
        results = [once(framework, opts.steps) for _ in range(opts.repeats)]
        good = [r for r in results if isinstance(r, dict)]
        if not good:
            print(f"{framework:<14}  failed: {results[0]}")
            continue
        ms = statistics.median(r["ms_per_step"] for r in good)
        calls = statistics.median(r["calls_per_step"] for r in good)
        print(f"{framework:<14}{ms:>9.3f}{calls:>17.1f}")


if __name__ == "__main__":
    main()
