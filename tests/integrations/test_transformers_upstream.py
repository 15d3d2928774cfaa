"""transformers' callback event-flow test (``tests/trainer/test_trainer_callback.py::test_event_flow``)
with naiad's callback in the Trainer.

Ported: the same recorder, the same expected-event computation and the same configurations; the
Trainer also carries a NaiadCallback, which must not change the flow, and every on_log it saw is
in the run. The model is a tiny regression module of our own (y = a*x + b), as upstream's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")

from transformers import IntervalStrategy, Trainer, TrainerCallback, TrainingArguments  # noqa: E402

import naiad  # noqa: E402
from naiad.integrations.transformers import NaiadCallback  # noqa: E402

EVENTS = [
    "on_init_end",
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_step_begin",
    "on_pre_optimizer_step",
    "on_optimizer_step",
    "on_substep_end",
    "on_step_end",
    "on_evaluate",
    "on_predict",
    "on_save",
    "on_log",
    "on_prediction_step",
]


def _recorder(name: str) -> Any:
    def record(self: Any, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.events.append(name)

    return record


class EventRecorderCallback(TrainerCallback):  # type: ignore[misc]
    """Records every event it receives, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []


for _event in EVENTS:
    setattr(EventRecorderCallback, _event, _recorder(_event))


class RegressionDataset(torch.utils.data.Dataset):  # type: ignore[misc]
    def __init__(self, length: int = 64, a: float = 2.0, b: float = 3.0, seed: int = 42) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(length, generator=g)
        self.y = a * self.x + b + 0.1 * torch.randn(length, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_x": self.x[i], "labels": self.y[i]}


class RegressionModel(torch.nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.0))
        self.b = torch.nn.Parameter(torch.tensor(0.0))

    def forward(self, input_x: Any, labels: Any = None) -> Any:
        y = input_x * self.a + self.b
        if labels is None:
            return (y,)
        return (torch.nn.functional.mse_loss(y, labels), y)


def _create_trainer(output_dir: Path, store: Path, **kwargs: Any) -> tuple[Trainer, NaiadCallback]:
    naiad_callback = NaiadCallback("event-flow", store=store)
    kwargs.setdefault("disable_tqdm", True)
    args = TrainingArguments(str(output_dir), use_cpu=True, report_to="none", log_level="error", **kwargs)
    trainer = Trainer(
        RegressionModel(),
        args,
        train_dataset=RegressionDataset(length=64),
        eval_dataset=RegressionDataset(length=64),
        callbacks=[EventRecorderCallback, naiad_callback],
    )
    return trainer, naiad_callback


def _get_expected_events(trainer: Trainer) -> list[str]:
    """Compute the exact expected event sequence for a training run (upstream's rule)."""
    expected_events = ["on_init_end", "on_train_begin"]
    step = 0
    train_dl_len = len(trainer.get_eval_dataloader())
    batches = len(trainer.get_eval_dataloader())
    evaluation_events = ["on_prediction_step"] * batches + ["on_log", "on_evaluate"]
    for _ in range(trainer.state.num_train_epochs):
        expected_events.append("on_epoch_begin")
        for _ in range(train_dl_len):
            step += 1
            expected_events += ["on_step_begin", "on_pre_optimizer_step", "on_optimizer_step", "on_step_end"]
            if step % trainer.args.logging_steps == 0:
                expected_events.append("on_log")
            if trainer.args.eval_strategy == IntervalStrategy.STEPS and step % trainer.args.eval_steps == 0:
                expected_events += evaluation_events.copy()
            if (
                step == trainer.state.max_steps
                and trainer.args.eval_strategy == IntervalStrategy.STEPS
                and step % trainer.args.eval_steps != 0
                and trainer.args.eval_delay <= step
            ):
                expected_events += evaluation_events.copy()
            if step % trainer.args.save_steps == 0 or step == trainer.state.max_steps:
                expected_events.append("on_save")
        expected_events.append("on_epoch_end")
        if trainer.args.eval_strategy == IntervalStrategy.EPOCH:
            expected_events += evaluation_events.copy()
    expected_events += ["on_log", "on_train_end"]
    return expected_events


@pytest.mark.filterwarnings("ignore::UserWarning")  # as upstream (simplefilter ignore UserWarning)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"logging_steps": 5},
        {"save_steps": 5},
        {"eval_steps": 5, "eval_strategy": "steps"},
        {"eval_strategy": "epoch"},
        {"logging_steps": 3, "save_steps": 10, "eval_steps": 5, "eval_strategy": "steps"},
    ],
    ids=["default", "logging", "save", "eval-steps", "eval-epoch", "everything"],
)
def test_event_flow(tmp_path: Path, options: dict[str, Any]) -> None:
    trainer, naiad_callback = _create_trainer(tmp_path / "out", tmp_path / "store", **options)
    trainer.train()
    recorder = next(c for c in trainer.callback_handler.callbacks if isinstance(c, EventRecorderCallback))
    events = recorder.events
    assert events == _get_expected_events(trainer)
    # naiad saw the same flow: one loss point per training on_log, one eval point per evaluation
    run = naiad.Run(run_id=naiad_callback.run.run_id, store=tmp_path / "store", mode="read-only")
    try:
        losses = [e["step"] for e in trainer.state.log_history if "loss" in e]
        evals = [e["step"] for e in trainer.state.log_history if "eval_loss" in e]
        if losses:
            got = run["training/train/loss"].fetch_values(include_timestamp=False)["step"].tolist()
            assert got == losses
        else:  # logging_steps (500) never reached: nothing was logged per step
            assert not run.exists("training/train/loss")
        if evals:
            got = run["training/val/loss"].fetch_values(include_timestamp=False)["step"].tolist()
            assert got == evals
        assert run["training/status"].fetch() == "finished"
    finally:
        run.close()
