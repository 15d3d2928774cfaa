"""Neptune's transformers guide: a run of your own, NeptuneCallback passed to the Trainer."""

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

import naiad.neptune as neptune
from naiad.neptune.integrations.transformers import NeptuneCallback

torch.manual_seed(0)
model = BertForSequenceClassification(
    BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=2,
    )
)


class Data(torch.utils.data.Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        ids = torch.randint(1, 50, (8,), generator=torch.Generator().manual_seed(i))
        return {"input_ids": ids, "labels": torch.tensor(i % 2)}


run = neptune.init_run(custom_run_id="hf-callback-1", name="bert-callback", tags=["transformers"])
run["data/version"] = "synthetic-12"
neptune_callback = NeptuneCallback(run=run, base_namespace="finetuning", log_checkpoints="last")
args = TrainingArguments(
    output_dir="out",
    per_device_train_batch_size=4,
    num_train_epochs=2,
    logging_steps=1,
    eval_strategy="epoch",
    save_strategy="epoch",
    report_to="none",
    use_cpu=True,
)
trainer = Trainer(
    model=model,
    args=args,
    train_dataset=Data(),
    eval_dataset=Data(),
    callbacks=[neptune_callback],
)
trainer.train()
same = NeptuneCallback.get_run(trainer)
same["finetuning/notes"] = "two epochs"
print("same run", same.naiad_run.run_id)
run.stop()
