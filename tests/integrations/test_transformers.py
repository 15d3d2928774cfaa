"""transformers integration: a tiny BERT trained for real, read back from the store.

The model is built from a config (no download): 2 layers, hidden size 32, vocabulary 100, on 64
generated sequences of 16 token ids, batch 8, 2 epochs = 16 optimizer steps, with evaluation and
a checkpoint every 4 steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")  # transformers' Trainer refuses to start without it

import transformers  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments  # noqa: E402

import naiad  # noqa: E402
from naiad.integrations.transformers import NaiadCallback  # noqa: E402

STEPS = 16
SAVE_EVERY = 4


class Tokens(torch.utils.data.Dataset):  # type: ignore[misc]
    """Random token ids; the label is whether the first token is above the middle of the vocabulary."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 100, (n, 16), generator=g)
        self.labels = (self.ids[:, 0] > 50).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def make_trainer(output_dir: Path, callbacks: list[Any], **overrides: Any) -> Trainer:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        num_labels=2,
    )
    options: dict[str, Any] = {
        "output_dir": str(output_dir),
        "use_cpu": True,
        "report_to": "none",
        "seed": 0,
        "per_device_train_batch_size": 8,
        "num_train_epochs": 2,
        "logging_steps": 1,
        "eval_strategy": "steps",
        "eval_steps": SAVE_EVERY,
        "save_steps": SAVE_EVERY,
        "metric_for_best_model": "eval_loss",
        "disable_tqdm": True,
        "log_level": "error",
    }
    options.update(overrides)
    return Trainer(
        model=BertForSequenceClassification(config),
        args=TrainingArguments(**options),
        train_dataset=Tokens(64, 0),
        eval_dataset=Tokens(16, 1),
        callbacks=callbacks,
    )


def series(run: naiad.Run, path: str, lineage: bool = False) -> list[tuple[float, float]]:
    frame = run[path].fetch_values(include_timestamp=False, lineage_to_the_root=lineage)
    return list(zip(frame["step"].tolist(), frame["value"].tolist()))


def history(trainer: Trainer, key: str) -> list[tuple[float, float]]:
    return [(float(e["step"]), float(e[key])) for e in trainer.state.log_history if key in e]


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One naiad-logged training of 16 steps, shared by the tests that read it."""
    root = tmp_path_factory.mktemp("original")
    with pytest.MonkeyPatch.context() as mp:  # the conftest's isolation is per test, not per module
        mp.chdir(root)
        for name in [k for k in os.environ if k.startswith("NAIAD_")]:
            mp.delenv(name)
        callback = NaiadCallback(experiment_name="tiny-bert", run_id="orig", store=root / "store")
        trainer = make_trainer(root / "out", [callback])
        trainer.train()
    run = naiad.Run(run_id="orig", store=root / "store", mode="read-only")
    yield {"root": root, "trainer": trainer, "callback": callback, "run": run}
    run.close()


def test_every_log_entry_is_a_series_at_global_step(original: dict[str, Any]) -> None:
    """loss, grad_norm, learning_rate, eval_* and epoch land under SPEC §8 paths at the Trainer's steps."""
    trainer, run = original["trainer"], original["run"]
    expected = {
        "loss": "training/train/loss",
        "grad_norm": "training/train/grad_norm",
        "learning_rate": "training/train/learning_rate",
        "eval_loss": "training/val/loss",
        "eval_runtime": "training/val/runtime",
    }
    for key, path in expected.items():
        assert series(run, path) == history(trainer, key), path
    assert [s for s, _ in series(run, "training/train/loss")] == list(range(1, STEPS + 1))
    assert [s for s, _ in series(run, "training/val/loss")] == list(range(SAVE_EVERY, STEPS + 1, SAVE_EVERY))
    epochs = dict(history(trainer, "epoch"))  # one point per step, however many entries it had
    assert series(run, "training/epoch") == sorted(epochs.items())
    assert not run.exists("training/train/epoch")


def test_end_of_training_entry_is_a_summary(original: dict[str, Any]) -> None:
    """train_runtime, total_flos, train_loss... are single values, and the run ends as finished."""
    trainer, run = original["trainer"], original["run"]
    final = trainer.state.log_history[-1]
    for key in (
        "train_runtime",
        "train_samples_per_second",
        "train_steps_per_second",
        "total_flos",
        "train_loss",
    ):
        assert run[f"training/summary/{key}"].fetch() == final[key]
    assert not run.exists("training/train/train_loss")
    assert run["training/status"].fetch() == "finished"
    assert run["sys/failed"].fetch() is False
    assert run["sys/state"].fetch() == "inactive"  # the callback closed the run it opened


def test_configs_hyperparams_and_model(original: dict[str, Any]) -> None:
    trainer, run = original["trainer"], original["run"]
    data = run.fetch()["training"]
    assert data["framework"] == {"name": "transformers", "version": transformers.__version__}
    assert data["hyperparams"] == {
        "learning_rate": 5e-05,
        "batch_size": 8,
        "max_epochs": 2.0,
        "max_steps": STEPS,
        "grad_accum_steps": 1,
        "optimizer": "AdamW",
        "weight_decay": 0.0,
        "seed": 0,
    }
    trainer_config = data["config"]["trainer"]
    assert trainer_config["learning_rate"] == trainer.args.learning_rate
    assert trainer_config["eval_strategy"] == "steps"
    assert trainer_config["output_dir"] == trainer.args.output_dir
    model_config = data["config"]["model"]
    assert (model_config["hidden_size"], model_config["num_hidden_layers"], model_config["vocab_size"]) == (
        32,
        2,
        100,
    )
    assert model_config["id2label"] == {"0": "LABEL_0", "1": "LABEL_1"}
    model = trainer.model
    assert data["model"]["class"] == "BertForSequenceClassification"
    assert data["model"]["num_params"] == sum(p.numel() for p in model.parameters())
    assert data["model"]["num_trainable_params"] == data["model"]["num_params"]
    assert data["model"]["summary"].startswith("BertForSequenceClassification(")


def test_checkpoints_saved_last_and_best(original: dict[str, Any]) -> None:
    trainer, run, root = original["trainer"], original["run"], original["root"]
    steps = list(range(SAVE_EVERY, STEPS + 1, SAVE_EVERY))
    saved = run["training/checkpoints/saved"].fetch_values(include_timestamp=False, lineage_to_the_root=False)
    assert saved["step"].tolist() == steps
    assert saved["value"].tolist() == [str((root / "out" / f"checkpoint-{s}").resolve()) for s in steps]
    last = run.fetch()["training"]["checkpoints"]["last"]
    files = [p for p in (root / "out" / f"checkpoint-{STEPS}").iterdir() if p.is_file()]
    assert last == {
        "path": str((root / "out" / f"checkpoint-{STEPS}").resolve()),
        "step": STEPS,
        "num_files": len(files),
        "size": sum(p.stat().st_size for p in files),
    }
    best = run.fetch()["training"]["checkpoints"]["best"]
    state = trainer.state
    assert best["path"] == str(Path(state.best_model_checkpoint).resolve())
    assert best["step"] == state.best_global_step
    assert best["metric"] == pytest.approx(state.best_metric)
    assert (best["metric_name"], best["greater_is_better"]) == ("eval_loss", False)
    assert not run.exists("training/checkpoints/last/files")  # uploads are opt-in


def test_checkpoint_carries_the_run_to_fork_from(original: dict[str, Any]) -> None:
    state = json.loads((original["root"] / "out" / "checkpoint-8" / "trainer_state.json").read_text())
    identity = state["stateful_callbacks"]["NaiadCallback"]["naiad"]
    assert identity["run_id"] == "orig"
    assert identity["step"] == 8
    assert identity["store"] == str((original["root"] / "store").resolve())


def test_resume_from_a_middle_checkpoint_forks_a_child(original: dict[str, Any], tmp_path: Path) -> None:
    """Resuming at step 8 after the original logged 16 steps: a child from step 8, continuous curve."""
    root = original["root"]
    callback = NaiadCallback(experiment_name="tiny-bert", store=root / "store")
    trainer = make_trainer(tmp_path / "out", [callback])
    trainer.train(resume_from_checkpoint=str(root / "out" / "checkpoint-8"))
    child = naiad.Run(run_id=callback.run.run_id, store=root / "store", mode="read-only")
    try:
        assert child.run_id != "orig"
        forking = child.fetch()["sys"]["forking"]
        assert (forking["parent"], forking["step"]) == ("orig", 8)
        assert child.fetch()["training"]["resume"] == {
            "checkpoint": str((root / "out" / "checkpoint-8").resolve()),
            "step": 8,
            "epoch": 1.0,
            "source": "trainer_state.json",
        }
        stitched = series(child, "training/train/loss", lineage=True)
        steps = [s for s, _ in stitched]
        assert steps == list(range(1, STEPS + 1))  # strictly increasing, nothing lost or duplicated
        parent = series(original["run"], "training/train/loss")
        assert stitched[:8] == parent[:8]
        assert stitched == history(trainer, "loss")  # the resumed Trainer's history: restored + new
        assert child["sys/experiment/is_head"].fetch() is True
        assert child["training/status"].fetch() == "finished"
    finally:
        child.close()


def test_logging_problem_never_stops_training(tmp_path: Path) -> None:
    """A series that cannot take the Trainer's loss warns and drops it; training and other series go on."""
    run = naiad.Run(experiment_name="broken", store=tmp_path / "store")
    run["training/train/loss"] = "not a series"  # the type lock now refuses every loss point
    callback = NaiadCallback(run=run)
    trainer = make_trainer(tmp_path / "out", [callback], max_steps=4, eval_strategy="no", save_steps=2)
    with pytest.warns(naiad.NaiadWarning, match="training/train/loss"):
        trainer.train()
    assert trainer.state.global_step == 4
    assert not run.closed  # a run passed in stays the caller's
    assert series(run, "training/train/grad_norm") == history(trainer, "grad_norm")
    assert run["training/train/loss"].fetch() == "not a series"
    run.close()


def test_resume_of_a_checkpoint_without_naiad_state(tmp_path: Path, store: Path) -> None:
    """A checkpoint saved without naiad: a fresh (unforked) run, and the next save does not fail."""
    make_trainer(tmp_path / "out", [], max_steps=2, eval_strategy="no", save_steps=2).train()
    callback = NaiadCallback(experiment_name="late", store=store)
    trainer = make_trainer(tmp_path / "out", [callback], max_steps=4, eval_strategy="no", save_steps=2)
    trainer.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-2"))
    run = naiad.Run(run_id=callback.run.run_id, store=store, mode="read-only")
    assert not run.exists("sys/forking/parent")
    assert run["training/resume/source"].fetch() == "trainer_state.json (no naiad state)"
    assert [s for s, _ in series(run, "training/train/loss")] == [3, 4]
    assert run["training/checkpoints/saved"].fetch_values(include_timestamp=False)["step"].tolist() == [4]
    run.close()


def test_report_to_table_has_naiad() -> None:
    """Fails when a transformers release moves the table that report_to names are looked up in."""
    from transformers.integrations import integration_utils

    assert integration_utils.INTEGRATION_TO_CALLBACK["naiad"] is NaiadCallback
    assert integration_utils.get_reporting_integration_callbacks(["naiad"]) == [NaiadCallback]
    assert issubclass(NaiadCallback, transformers.TrainerCallback)
    assert "naiad" not in integration_utils.get_available_reporting_integrations()  # "all" stays opt-out


_REPORT_TO_SCRIPT = """
import os, sys
import naiad.integrations.transformers  # the one line report_to="naiad" needs, before transformers loads
import torch
from transformers import (BertConfig, BertForSequenceClassification, Trainer, TrainerCallback,
                          TrainingArguments)

class Tokens(torch.utils.data.Dataset):
    def __init__(self, n):
        self.ids = torch.randint(1, 100, (n, 16), generator=torch.Generator().manual_seed(0))
    def __len__(self):
        return len(self.ids)
    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.ids[i, 0] % 2}

class Crash(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 2 and os.environ["NAIAD_RUN_ID"] == "crash":
            raise RuntimeError("boom at step 2")

def train(run_id):
    os.environ["NAIAD_RUN_ID"] = run_id
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32)
    args = TrainingArguments(output_dir=run_id, use_cpu=True, report_to="naiad", max_steps=4,
                             save_steps=2, logging_steps=1, per_device_train_batch_size=8,
                             disable_tqdm=True, log_level="error")
    Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=Tokens(32),
            callbacks=[Crash()]).train()

train("ok")
assert not any(type(f).__name__ == "_TableHook" for f in sys.meta_path)  # the hook fired once, then left
train("crash")
"""


def test_report_to_naiad_in_a_fresh_process(tmp_path: Path) -> None:
    """report_to="naiad" configured by NAIAD_* variables; an uncaught exception marks the run failed."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(_REPORT_TO_SCRIPT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    env.update(
        NAIAD_STORE=str(tmp_path / "store"),
        NAIAD_PROJECT="hf",
        NAIAD_EXPERIMENT="env-configured",
        NAIAD_LOG_CHECKPOINTS="1",
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1 and "boom at step 2" in proc.stderr, proc.stderr[-3000:]
    ok = naiad.Run(run_id="ok", project="hf", store=tmp_path / "store", mode="read-only")
    assert ok["sys/name"].fetch() == "env-configured"
    assert [s for s, _ in series(ok, "training/train/loss")] == [1, 2, 3, 4], proc.stderr[-3000:]
    assert ok["training/status"].fetch() == "finished"
    assert ok["sys/failed"].fetch() is False
    uploaded = tmp_path / "download"
    ok["training/checkpoints/last/files/config.json"].download(uploaded)
    saved_config = tmp_path / "ok" / "checkpoint-4" / "config.json"
    assert json.loads(uploaded.read_text()) == json.loads(saved_config.read_text())
    crash = naiad.Run(run_id="crash", project="hf", store=tmp_path / "store", mode="read-only")
    assert crash["sys/failed"].fetch() is True
    assert crash["training/status"].fetch() == "failed"
    assert "boom at step 2" in crash["sys/diagnostics/exception"].fetch()
    assert [s for s, _ in series(crash, "training/train/loss")] == [1]  # it raised before logging step 2
    ok.close()
    crash.close()


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_does_not_import_torch(tmp_path: Path) -> None:
    """Importing naiad's module leaves torch (and transformers' Trainer) to the user's own imports."""
    proc = _python(
        """
        import sys
        import naiad.integrations.transformers as hf
        assert "torch" not in sys.modules, "importing naiad's module imported torch"
        assert "transformers" not in sys.modules  # which imports torch in transformers 4.x
        assert any(isinstance(f, hf._TableHook) for f in sys.meta_path)  # registers when it loads
    """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_import_without_transformers(tmp_path: Path) -> None:
    proc = _python(
        """
        import sys
        sys.modules["transformers"] = None  # as if it were not installed
        import naiad
        try:
            import naiad.integrations.transformers
        except ModuleNotFoundError as e:
            assert "pip install 'naiad[transformers]'" in str(e), str(e)
        else:
            raise AssertionError("no ModuleNotFoundError")
    """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_evaluate_after_training_logs_into_the_same_run(tmp_path: Path, store: Path) -> None:
    """trainer.evaluate() after train() reopens the run the callback closed, at the final step."""
    callback = NaiadCallback(store=store)
    trainer = make_trainer(tmp_path / "out", [callback], max_steps=2, eval_strategy="no", save_strategy="no")
    trainer.train()
    metrics = trainer.evaluate()
    callback.run.close()
    run = naiad.Run(run_id=callback.run.run_id, store=store, mode="read-only")
    assert series(run, "training/val/loss") == [(2.0, metrics["eval_loss"])]
    assert run["training/status"].fetch() == "finished"
    run.close()


def test_import_naiad_after_transformers_registers(tmp_path: Path) -> None:
    """`import naiad` after `import transformers` is enough for report_to="naiad"."""
    proc = _python(
        """
        import sys
        import transformers
        import naiad
        assert "naiad.integrations.transformers" in sys.modules
        assert any(type(f).__name__ == "_TableHook" for f in sys.meta_path)
    """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_run_name_names_the_run_and_every_evaluation_after_training_is_kept(
    tmp_path: Path, store: Path
) -> None:
    """run_name is the experiment name; evaluate() twice after train() and predict(): all kept."""
    callback = NaiadCallback(store=store)
    trainer = make_trainer(
        tmp_path / "out", [callback], max_steps=2, eval_strategy="no", save_strategy="no", run_name="bert-a"
    )
    trainer.train()
    first = trainer.evaluate()
    second = trainer.evaluate(eval_dataset=Tokens(8, 5))
    trainer.predict(Tokens(8, 6), metric_key_prefix="test")
    callback.run.close()
    run = naiad.Run(run_id=callback.run.run_id, store=store, mode="read-only")
    assert run.experiment_name == "bert-a"
    assert series(run, "training/val/loss") == [(2.0, first["eval_loss"]), (2.001, second["eval_loss"])]
    assert [s for s, _ in series(run, "training/test/loss")] == [2.0]
    run.close()


def test_non_number_log_values_are_stored(tmp_path: Path, store: Path) -> None:
    """Trainer.log with a string, a list and a bool: string series, per-element series, 0/1."""
    callback = NaiadCallback(store=store)
    trainer = make_trainer(tmp_path / "out", [callback], max_steps=1, eval_strategy="no", save_strategy="no")
    trainer.train()
    trainer.log({"phase": "warmup", "per_class": [0.5, 0.25], "converged": True})
    callback.run.close()
    run = naiad.Run(run_id=callback.run.run_id, store=store, mode="read-only")
    train = run.fetch()["training"]["train"]
    assert (train["phase"], train["per_class"], train["converged"]) == ("warmup", {"0": 0.5, "1": 0.25}, 1.0)
    run.close()


def test_two_callbacks_each_fork_from_their_own_run_on_resume(tmp_path: Path, store: Path) -> None:
    """Defect 7: transformers keeps both states under "NaiadCallback"; each resumed callback finds its run,
    whatever the order of the callbacks, and two callbacks with the same settings are not merged."""
    first = [NaiadCallback("two", store=store, run_id=r) for r in ("a", "b")]
    twins = [NaiadCallback("twin", store=store) for _ in range(2)]
    make_trainer(tmp_path / "out", [*first, *twins], max_steps=4, eval_strategy="no", save_steps=2).train()
    originals = [c.run.run_id for c in twins]
    assert len(set(originals)) == 2

    b, a = (NaiadCallback("two", store=store, run_id=r) for r in ("b", "a"))  # the other order
    twins2 = [NaiadCallback("twin", store=store) for _ in range(2)]
    trainer = make_trainer(tmp_path / "again", [b, a, *twins2], max_steps=4, eval_strategy="no", save_steps=2)
    trainer.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-2"))
    assert trainer.state.global_step == 4
    parents = []
    for callback in (a, b, *twins2):
        child = naiad.Run(run_id=callback.run.run_id, store=store, mode="read-only")
        try:
            forking = child.fetch()["sys"]["forking"]
            parents.append((forking["parent"], forking["step"]))
            assert [s for s, _ in series(child, "training/train/loss", lineage=True)] == [1, 2, 3, 4]
        finally:
            child.close()
    assert parents[:2] == [("a", 2), ("b", 2)]
    assert sorted(p for p, _ in parents[2:]) == sorted(originals)  # one each, neither twin shared
    assert [s for _, s in parents[2:]] == [2, 2]


def test_media_helpers_and_prefix_like_the_lightning_logger(tmp_path: Path, store: Path) -> None:
    """log_image/log_table/log_text from a user's callback during train(), prefix= on metric paths."""
    naiad_callback = NaiadCallback("media", store=store, prefix="stage1")

    class Samples(transformers.TrainerCallback):  # type: ignore[misc]
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            naiad_callback.log_image("samples", torch.zeros(3, 4, 4))
            naiad_callback.log_table("preds", [{"step": state.global_step, "ok": True}])
            naiad_callback.log_text("notes", f"saved {state.global_step}")

    trainer = make_trainer(
        tmp_path / "out", [naiad_callback, Samples()], max_steps=4, eval_strategy="no", save_steps=2
    )
    trainer.train()
    run = naiad.Run(run_id=naiad_callback.run.run_id, store=store, mode="read-only")
    try:
        assert [s for s, _ in series(run, "training/stage1/train/loss")] == [1, 2, 3, 4]
        assert not run.exists("training/train/loss")
        notes = run["training/text/notes"].fetch_values(include_timestamp=False)
        assert notes["step"].tolist() == [2, 4]
        assert notes["value"].tolist() == ["saved 2", "saved 4"]
        for path in ("training/images/samples", "training/tables/preds"):
            assert run[path].fetch_values(include_timestamp=False)["step"].tolist() == [2, 4]
    finally:
        run.close()


def test_log_model_is_the_checkpoint_policy_under_the_lightning_name(tmp_path: Path, store: Path) -> None:
    callback = NaiadCallback("policy", store=store, log_model="last")
    make_trainer(tmp_path / "out", [callback], max_steps=2, eval_strategy="no", save_steps=2).train()
    run = naiad.Run(run_id=callback.run.run_id, store=store, mode="read-only")
    try:
        assert run.exists("training/checkpoints/last/files/config.json")
        assert not run.exists("training/checkpoints/best/files/config.json")
    finally:
        run.close()
    with pytest.raises(ValueError, match="directory"):
        NaiadCallback(log_model="all")


def test_evaluations_after_load_best_model_at_end_are_each_kept(tmp_path: Path, store: Path) -> None:
    """Defect 2: load_best_model_at_end, then evaluate() at the last in-fit evaluation's step,
    then evaluate(metric_key_prefix="test") and predict(): each result a visible point."""
    callback = NaiadCallback(store=store)
    trainer = make_trainer(tmp_path / "out", [callback], load_best_model_at_end=True)
    trainer.train()
    again = trainer.evaluate()
    tested = trainer.evaluate(metric_key_prefix="test")
    predicted = trainer.predict(Tokens(8, 6), metric_key_prefix="test").metrics
    callback.run.close()
    run = naiad.Run(run_id=callback.run.run_id, store=store, mode="read-only")
    val = series(run, "training/val/loss")
    assert [s for s, _ in val] == [4.0, 8.0, 12.0, 16.0, 16.001]
    assert val[-1][1] == pytest.approx(again["eval_loss"])
    assert series(run, "training/test/loss") == [
        (16.0, pytest.approx(tested["test_loss"])),
        (16.001, pytest.approx(predicted["test_loss"])),
    ]
    assert run.fetch()["sys"].get("diagnostics", {}).get("dropped", 0) == 0
    run.close()


def test_a_constructor_typo_raises_at_construction() -> None:
    """Defect 12: a misspelt argument fails before training instead of turning logging off."""
    with pytest.raises(TypeError, match="experimnt_name"):
        NaiadCallback(experimnt_name="x")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="log_model"):
        NaiadCallback(log_model="every")


def test_capture_arguments_reach_the_run(tmp_path: Path, store: Path) -> None:
    """NaiadCallback(capture_...=...) switches naiad's capture for its run; a typo fails at once."""
    from naiad.errors import ConfigError
    from naiad.testing import fields

    with pytest.raises(ConfigError, match="capture_stdot"):
        NaiadCallback(store=store, capture_stdot=False)
    callback = NaiadCallback(store=store, capture_hardware_metrics=False, capture_environment=True)
    trainer = make_trainer(tmp_path / "out", [callback], max_steps=2, eval_strategy="no", save_strategy="no")
    trainer.train()
    got = fields(store, callback.run.run_id)
    assert got["environment/packages"].count("transformers==") == 1
    assert not [path for path in got if path.startswith("monitoring/main/") and "std" not in path]
