"""Train a tiny BERT classifier with the Hugging Face ``Trainer`` and log it to naiad.

Nothing is downloaded: the model is built from a ``BertConfig`` (2 layers, hidden size 32) and
trained on generated token ids, on the CPU, in well under a minute.

    python examples/transformers_quickstart.py                # store: ./.naiad
    python examples/transformers_quickstart.py --store /tmp/naiad-demo

The other way to turn naiad on, with no callback in the code, is ``report_to="naiad"``::

    import naiad.integrations.transformers  # registers report_to="naiad" with transformers
    args = TrainingArguments(..., report_to="naiad")  # NAIAD_STORE, NAIAD_EXPERIMENT, ... configure it
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
from transformers.trainer_callback import PrinterCallback
from transformers.utils import logging as hf_logging

import naiad
from naiad.integrations.transformers import NaiadCallback


class Tokens(torch.utils.data.Dataset):  # type: ignore[misc]
    """Sequences of random token ids; the label is whether the first token is in the upper half."""

    def __init__(self, n: int, seed: int, length: int = 16, vocab: int = 100) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, vocab, (n, length), generator=g)
        self.labels = (self.ids[:, 0] >= vocab // 2).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default=".naiad", help="naiad store directory (default: ./.naiad)")
    parser.add_argument("--experiment", default="transformers-quickstart", help="experiment name")
    parser.add_argument(
        "--output-dir",
        default="transformers-quickstart-checkpoints",
        help="where the Trainer writes checkpoints",
    )
    parser.add_argument("--epochs", type=int, default=2, help="training epochs (32 steps each)")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    config = BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        num_labels=2,
    )
    training_args = TrainingArguments(
        output_dir=args.output_dir,
        use_cpu=True,
        report_to="none",
        seed=0,
        num_train_epochs=args.epochs,
        per_device_train_batch_size=8,
        learning_rate=3e-3,
        logging_steps=1,
        eval_strategy="steps",
        eval_steps=16,
        save_steps=16,
        save_total_limit=2,
        metric_for_best_model="eval_loss",
        disable_tqdm=True,
    )
    callback = NaiadCallback(experiment_name=args.experiment, store=args.store)
    trainer = Trainer(
        model=BertForSequenceClassification(config),
        args=training_args,
        train_dataset=Tokens(256, seed=0),
        eval_dataset=Tokens(32, seed=1),
        callbacks=[callback],
    )
    trainer.remove_callback(PrinterCallback)  # naiad has the numbers; keep the terminal quiet
    trainer.train()

    assert callback.run is not None
    run = naiad.Run(
        run_id=callback.run.run_id, project=callback.run.project, store=args.store, mode="read-only"
    )
    data = run.fetch()["training"]
    loss = run["training/train/loss"].fetch_values(include_timestamp=False, lineage_to_the_root=False)
    val = run["training/val/loss"].fetch_values(include_timestamp=False, lineage_to_the_root=False)
    print(f"Logged run {run.run_id} ({run.sys_id}) of experiment '{run.experiment_name}'")
    print(f"  store:       {Path(args.store).resolve()}")
    print(f"  model:       {data['model']['class']}, {data['model']['num_params']:,} parameters")
    print(
        f"  train/loss:  {len(loss)} points, {loss['value'].iloc[0]:.4f} at step "
        f"{loss['step'].iloc[0]:g} -> {loss['value'].iloc[-1]:.4f} at step {loss['step'].iloc[-1]:g}"
    )
    print(f"  val/loss:    {len(val)} points, last {val['value'].iloc[-1]:.4f}")
    print(
        f"  summary:     {data['summary']['train_runtime']:.1f} s, "
        f"{data['summary']['train_samples_per_second']:.0f} samples/s"
    )
    print(f"  checkpoints: last {data['checkpoints']['last']['path']}")
    if "best" in data["checkpoints"]:
        best = data["checkpoints"]["best"]
        print(f"               best {best['path']} ({best['metric_name']} = {best['metric']:.4f})")
    print(f"  status:      {data['status']}")
    print(f"Read it back: naiad.Run(run_id={run.run_id!r}, store={args.store!r}, mode='read-only')")
    run.close()


if __name__ == "__main__":
    main()
