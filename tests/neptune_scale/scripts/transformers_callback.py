"""A transformers TrainerCallback that logs a Trainer's configs and metrics to a Neptune run."""

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from naiad.neptune_scale import Run


def _prefix_dict(d, prefix):
    return {f"{prefix}/{k}": v for k, v in d.items()}


class NeptuneCallback(TrainerCallback):
    def __init__(self, run):
        self.run = run

    def on_init_end(self, args, state, control, **kwargs):
        self.run.log_configs(_prefix_dict(args.to_dict(), "config"), flatten=True, cast_unsupported=True)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is not None and state.is_local_process_zero and not control.should_evaluate:
            self.run.log_metrics(data={f"train/{k}": v for k, v in logs.items()}, step=state.global_step)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if metrics is not None and state.is_local_process_zero:
            self.run.log_metrics(data={f"eval/{k}": v for k, v in metrics.items()}, step=state.global_step)


class Tokens(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 100, (n, 16), generator=g)
        self.labels = (self.ids[:, 0] > 50).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


if __name__ == "__main__":
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
    )
    run = Run(experiment_name="tiny-bert-sft", run_id="tiny-bert-1")
    args = TrainingArguments(
        output_dir="out",
        use_cpu=True,
        report_to="none",
        per_device_train_batch_size=8,
        max_steps=6,
        logging_steps=1,
        eval_strategy="steps",
        eval_steps=3,
        save_strategy="no",
        disable_tqdm=True,
        log_level="error",
    )
    trainer = Trainer(
        model=BertForSequenceClassification(config),
        args=args,
        train_dataset=Tokens(48, 0),
        eval_dataset=Tokens(16, 1),
        callbacks=[NeptuneCallback(run)],
    )
    trainer.train()
    run.close()
