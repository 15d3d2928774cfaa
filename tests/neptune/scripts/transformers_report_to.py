"""A Trainer with report_to="neptune", unedited: transformers' own NeptuneCallback logs into naiad.

The one line added is the opt-in, run before transformers looks for ``neptune``.
"""

import naiad.neptune

naiad.neptune.install()

import torch  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments  # noqa: E402

torch.manual_seed(0)
config = BertConfig(
    vocab_size=50,
    hidden_size=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=32,
    num_labels=2,
)
model = BertForSequenceClassification(config)


class Data(torch.utils.data.Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, i):
        ids = torch.randint(1, 50, (8,), generator=torch.Generator().manual_seed(i))
        return {"input_ids": ids, "labels": torch.tensor(i % 2)}


args = TrainingArguments(
    output_dir="out",
    per_device_train_batch_size=4,
    num_train_epochs=2,
    logging_steps=1,
    report_to="neptune",
    run_name="bert-tiny",
    save_strategy="no",
    use_cpu=True,
)
Trainer(model=model, args=args, train_dataset=Data()).train()
