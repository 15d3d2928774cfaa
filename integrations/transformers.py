"""Hugging Face transformers: ``TrainingArguments(report_to="naiad")`` or ``callbacks=[NaiadCallback()]``.

Two ways to use it::

    import naiad.integrations.transformers  # registers report_to="naiad" with transformers

    args = TrainingArguments(..., report_to="naiad")  # configured from NAIAD_* variables
    trainer = Trainer(model, args, ...)

    from naiad.integrations.transformers import NaiadCallback
    trainer = Trainer(model, args, callbacks=[NaiadCallback(experiment_name="bert-sst2")])

**What ``report_to="naiad"`` needs.** transformers has no plugin registry for ``report_to``: it looks
names up in the dict ``transformers.integrations.integration_utils.INTEGRATION_TO_CALLBACK``
(transformers 4.40 to 5.x) and raises ``ValueError: naiad is not supported`` for a name that is
not there. Importing this module adds ``"naiad"`` to that dict, so the one line a script needs is
``import naiad.integrations.transformers``, anywhere before it builds the ``Trainer``; ``import
naiad`` does it too when transformers was imported first. ``report_to="all"`` does not include
naiad. With ``report_to="naiad"`` transformers builds the callback with no arguments: it is
configured by ``NAIAD_STORE``, ``NAIAD_PROJECT``, ``NAIAD_EXPERIMENT``, ``NAIAD_RUN_ID``,
``NAIAD_MODE`` and ``NAIAD_LOG_CHECKPOINTS`` (or ``[tool.naiad]``, as any :class:`naiad.Run`).

Importing this module imports neither transformers nor torch (``import transformers`` loads torch
in 4.x): when transformers' integration module is not loaded yet, a one-shot import hook adds the
entry the moment transformers loads it, then removes itself; ``NaiadCallback``, a
``TrainerCallback``, is built on first use.

**What is logged** (SPEC §8, root ``training/``): ``framework``, ``hyperparams`` (learning_rate,
batch_size, max_epochs, max_steps, grad_accum_steps, optimizer, weight_decay, seed, and the trial's
parameters in a hyperparameter search), ``config/trainer`` (``args.to_dict()``), ``config/model``
(``model.config.to_dict()``), ``model/{class,num_params,num_trainable_params,summary}``; every
``on_log`` entry at ``state.global_step`` (``loss`` → ``train/loss``, ``eval_*`` → ``val/*``,
``epoch`` → ``epoch``; the end-of-training entry → ``summary/*``); every saved checkpoint
directory in ``checkpoints/saved`` and ``checkpoints/last``, the best one in ``checkpoints/best``
(files uploaded only with ``log_checkpoints``); ``status`` (``finished``, ``stopped`` early, or
``failed``). Only the world's main process logs.

**Fork on resume.** The run's identity travels in each checkpoint's ``trainer_state.json``
(``stateful_callbacks["NaiadCallback"]["naiad"]``). ``trainer.train(resume_from_checkpoint=...)``
loads that file into ``state`` before ``on_train_begin``, where the callback reads it and creates a
child run forked from the checkpoint's run at the restored ``global_step`` (``training/resume/*``
records where from). This works whatever ``restore_callback_states_from_checkpoint`` says; with it
set, transformers replaces the callback by ``NaiadCallback(**saved_args)``, so a ``run=`` passed in
is not carried over. Fork on resume needs transformers >= 4.41 (stateful callbacks).

**Failures.** Logging problems warn (``naiad.NaiadWarning``) and never reach the training loop. A
``train()`` that raises never reaches ``on_train_end``: an uncaught exception marks the run
``sys/failed`` (naiad's excepthook), and at interpreter exit, or at the next ``train()`` with the
same callback, a run whose training did not end gets ``status = failed`` and ``sys/failed``.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.util
import json
import os
import secrets
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

# transformers itself is imported by the user's own code: `import transformers` loads torch in 4.x
if importlib.util.find_spec("transformers") is None:
    raise ModuleNotFoundError(
        "naiad.integrations.transformers needs transformers: pip install 'naiad[transformers]'",
        name="transformers",
    )

from naiad import Run
from naiad.errors import NaiadWarning
from naiad.training import TrainingLog, check_run_kwargs, configured, log_model_policy, resume_state

if TYPE_CHECKING:
    from transformers.trainer_callback import ExportableState, TrainerCallback

__all__ = ["NaiadCallback", "register"]

REPORT_TO = "naiad"
TABLE_MODULE = "transformers.integrations.integration_utils"
TABLE_NAME = "INTEGRATION_TO_CALLBACK"
# keys of the entry Trainer logs once at the end of train(); they are totals, not series
SUMMARY_KEYS = frozenset(
    {
        "train_runtime",
        "train_samples_per_second",
        "train_steps_per_second",
        "train_tokens_per_second",
        "total_flos",
        "train_loss",
    }
)


class _NaiadCallback:
    """Logs a transformers ``Trainer`` to a naiad run under ``training/`` (SPEC §8).

    Args:
        experiment_name: the run's experiment (default ``NAIAD_EXPERIMENT``).
        run: log into this open run instead of creating one (it is not closed at the end).
        run_id, project, store, mode, tags, description: passed to :class:`naiad.Run`; unset
            ones come from ``NAIAD_*`` variables or ``[tool.naiad]``.
        log_checkpoints: upload checkpoint files: ``True`` (last and best), ``"last"``,
            ``"best"``, ``False``; default ``NAIAD_LOG_CHECKPOINTS``. Paths are always recorded.
        root: the namespace everything goes under.
        log_model: the same policy under NaiadLogger's name (``False``, ``"last"``, ``"best"``,
            ``True`` = last and best); it wins over ``log_checkpoints``.
        prefix: a namespace between the root and the metric paths (``training/<prefix>/...``),
            as for the Lightning logger.
        run_kwargs: further :class:`naiad.Run` arguments, e.g. ``capture_stdout=False``,
            ``capture_hardware_metrics=False``, ``source_files=["*.py"]``.

    Example:
        >>> from naiad.integrations.transformers import NaiadCallback
        >>> trainer = Trainer(model, args, train_dataset=ds,  # doctest: +SKIP
        ...                   callbacks=[NaiadCallback(experiment_name="bert-sst2")])
        >>> trainer.train()  # doctest: +SKIP
    """

    def __init__(
        self,
        experiment_name: str | None = None,
        *,
        run: Run | None = None,
        run_id: str | None = None,
        project: str | None = None,
        store: str | os.PathLike[str] | None = None,
        mode: str | None = None,
        tags: tuple[str, ...] | list[str] = (),
        description: str | None = None,
        log_checkpoints: bool | str | None = None,
        root: str = "training",
        log_model: bool | str | None = None,
        prefix: str = "",
        **run_kwargs: Any,
    ) -> None:
        check_run_kwargs(run_kwargs, "NaiadCallback")
        self._run_kwargs = run_kwargs
        # the name NaiadLogger (and WandbLogger, MLFlowLogger) use; it wins
        log_model = log_model_policy(log_model, "NaiadCallback", every_file=False)
        if log_model is not None:
            log_checkpoints = log_model
        if log_checkpoints not in (None, True, False, "last", "best"):
            raise ValueError(
                f"log_checkpoints must be True, False, 'last' or 'best'; got {log_checkpoints!r}."
            )
        self.experiment_name = experiment_name
        self.run_id = run_id
        self.project = project
        self.store = None if store is None else os.fspath(store)
        self.mode = mode
        self.tags = list(tags)
        self.description = description
        self.log_checkpoints = log_checkpoints
        self.root = root
        self.prefix = prefix
        self.run: Run | None = run
        self._own_run = run is None
        self._log: TrainingLog | None = None
        self._runs_opened = 0
        self._training = False
        self._args: Any = None
        self._state: Any = None
        self._epoch_step = -1.0
        self._best: str | None = None

    # -- transformers' events: each one guarded, main process only ---------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self._guarded("the start of training", self._begin, args, state, model, kwargs.get("optimizer"))

    def on_log(
        self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if state.is_world_process_zero and logs:
            self._guarded("a log entry", self._on_log, args, state, logs)

    def on_predict(
        self, args: Any, state: Any, control: Any, metrics: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if state.is_world_process_zero and metrics:  # predict() reports test_* here, not in on_log
            self._guarded("prediction metrics", self._on_log, args, state, metrics)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self._guarded("a checkpoint", self._on_save, args, state)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero and self._training:
            stopped = 0 < state.global_step < (state.max_steps or 0)
            self._guarded("the end of training", self._finish, "stopped" if stopped else "finished")

    # -- ExportableState: what every checkpoint's trainer_state.json carries ------------------------
    def state(self) -> dict[str, Any]:
        """The callback's entry in ``trainer_state.json``: its settings and the run to fork from."""
        identity = None
        if self.run is not None and self._log is not None:
            identity = resume_state(self.run)
            if self._state is not None and self._args is not None:
                step = int(self._state.global_step)
                identity["step"] = step
                identity["checkpoint"] = _checkpoint_dir(self._args, step)
        settings = {
            "experiment_name": self.experiment_name,
            "project": self.project,
            "store": self.store,
            "mode": self.mode,
            "tags": self.tags,
            "description": self.description,
            "log_checkpoints": self.log_checkpoints,
            "root": self.root,
            "prefix": self.prefix,
        }
        # transformers rebuilds the callback from "args"/"attributes" only when asked to; "naiad" is ours
        return {"args": settings, "attributes": {}, "naiad": identity, "key": self._key()}

    # -- media, as on the Lightning logger (naiad.training's helpers) ------------------------------
    def log_image(self, key: str, image: Any, step: int | None = None) -> None:
        """Append an image (path, PNG bytes, PIL image, array or tensor) to ``training/images/<key>``."""
        self._guarded(f"image '{key}'", self._media, "image", key, image, step)

    def log_table(
        self, key: str, table: Any, step: int | None = None, columns: list[str] | None = None
    ) -> None:
        """Append a table (DataFrame, list of dicts, or rows and ``columns``) to ``training/tables/<key>``."""
        self._guarded(f"table '{key}'", self._media, "table", key, table, step, columns)

    def log_text(self, key: str, text: str, step: int | None = None) -> None:
        """Append a string to ``training/text/<key>``."""
        self._guarded(f"text '{key}'", self._media, "text", key, text, step)

    def _media(self, kind: str, key: str, value: Any, step: int | None, *extra: Any) -> None:
        if self._log is None or self.run is None or self.run.closed:
            raise RuntimeError("the callback has no open run (call it during or after train())")
        x = int(step) if step is not None else int(getattr(self._state, "global_step", 0) or 0)
        getattr(self._log, kind)(key, value, x, *extra)

    # -- implementation -------------------------------------------------------------------------------
    def _guarded(self, what: str, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as e:  # a logging problem must never stop training
            warnings.warn(f"naiad: could not log {what}: {type(e).__name__}: {e}", NaiadWarning, stacklevel=3)

    def _begin(self, args: Any, state: Any, model: Any, optimizer: Any) -> None:
        name = type(self).__name__
        callbacks = getattr(state, "stateful_callbacks", None)  # transformers >= 4.41
        callbacks = callbacks if isinstance(callbacks, dict) else {}
        parent = self._parent(state, callbacks.get(name)) if state.global_step > 0 else None
        if self._training:  # the previous train() never reached on_train_end: it raised
            self._finish("failed")
        self._args, self._state = args, state
        try:
            if state.is_world_process_zero:
                self._open(state, parent if isinstance(parent, dict) and parent.get("run_id") else None)
                self._training = True
                atexit.register(self._at_exit)
                self._log_setup(args, state, model, optimizer, parent)
        finally:
            if not isinstance(callbacks.get(name), list):
                # transformers < 4.45 saves the callback states captured before on_train_begin,
                # and 4.45+ fails at the first save when a resumed checkpoint lacks this key
                callbacks[name] = self.state()

    def _key(self) -> str:
        """What tells this callback's saved entries from another NaiadCallback's in one Trainer."""
        return json.dumps([self.experiment_name, self.project, self.store, self.run_id, self.root])

    def _parent(self, state: Any, saved: Any) -> dict[str, Any] | None:
        """The run this callback forks from on resume.

        transformers keeps every NaiadCallback's state under one class name: a list when there are
        several (each save appends one entry per callback, in callback order). Each callback takes
        the first run not yet claimed by an earlier callback of this Trainer, preferring entries
        saved with its own key; the latest entry of that run gives the step.
        """
        entries = saved if isinstance(saved, list) else [saved]
        found: dict[str, dict[str, Any]] = {}  # run id -> its latest entry, in first-seen order
        keys: dict[str, Any] = {}
        for entry in entries:
            identity = entry.get("naiad") if isinstance(entry, dict) else None
            if isinstance(identity, dict) and identity.get("run_id"):
                found[str(identity["run_id"])] = identity
                keys.setdefault(str(identity["run_id"]), entry.get("key"))
        claimed: set[str] = state.__dict__.setdefault("_naiad_claimed", set())
        free = [run_id for run_id in found if run_id not in claimed]
        mine = [run_id for run_id in free if keys[run_id] == self._key()]
        if not (mine or free):
            return None
        chosen = (mine or free)[0]
        claimed.add(chosen)
        return found[chosen]

    def _open(self, state: Any, parent: dict[str, Any] | None) -> None:
        if not self._own_run:
            assert self.run is not None
            self._log = TrainingLog(self.run, self.root, self.prefix)
            return
        if self.run is not None and not self.run.closed:
            self.run.close()
        run_name = getattr(self._args, "run_name", None)
        kwargs: dict[str, Any] = {
            # TrainingArguments.run_name names the run, as for every other HF reporter, unless
            # naiad's own experiment name is set (argument, NAIAD_EXPERIMENT, [tool.naiad])
            "experiment_name": self.experiment_name
            if run_name is None or self._configured("experiment_name")
            else str(run_name),
            "project": self.project,
            "store": self.store,
            "mode": self.mode,
            "tags": self.tags,
            "description": self.description,
            "on_error": "warn",
            **self._run_kwargs,
        }
        # only the first run of this callback takes the configured id (None: NAIAD_RUN_ID); a
        # later train() with the same callback is a new run
        run_id = self.run_id if self._runs_opened == 0 else secrets.token_hex(8)
        self._runs_opened += 1
        if parent is not None:
            # unset settings follow the parent, so a resume from another directory finds it
            for key, saved in (("experiment_name", "experiment"), ("project", "project"), ("store", "store")):
                if not self._configured(key) and parent.get(saved):
                    kwargs[key] = parent[saved]
            # a child needs an id of its own, even when NAIAD_RUN_ID still names the parent
            child = run_id if run_id and run_id != parent["run_id"] else secrets.token_hex(8)
            try:
                self.run = Run(
                    run_id=child, fork_run_id=parent["run_id"], fork_step=int(state.global_step), **kwargs
                )
            except (LookupError, ValueError) as e:  # parent in another store, or the id is taken
                warnings.warn(
                    f"naiad: resuming without forking from run '{parent['run_id']}': {e}",
                    NaiadWarning,
                    stacklevel=4,
                )
                self.run = Run(run_id=secrets.token_hex(8), **kwargs)
        else:
            self.run = Run(run_id=run_id, **kwargs)
        self._log = TrainingLog(self.run, self.root, self.prefix)
        self._epoch_step, self._best = -1.0, None

    def _configured(self, key: str) -> bool:
        """Whether a setting comes from the constructor, the environment or a config file."""
        return configured(key, getattr(self, key))

    def _log_setup(self, args: Any, state: Any, model: Any, optimizer: Any, parent: Any) -> None:
        log = self._log
        assert log is not None
        log.framework("transformers", _version())
        log.hyperparams(state.trial_params or {}, promoted=_promoted(args, state, optimizer))
        log.config("trainer", args.to_dict())
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            log.config("model", config.to_dict())
        if model is not None and hasattr(model, "parameters"):
            params = list(model.parameters())
            log.model(
                type(model).__name__,
                sum(p.numel() for p in params),
                sum(p.numel() for p in params if p.requires_grad),
                summary=str(model),
            )
        if state.global_step > 0:
            step = int(state.global_step)
            checkpoint = _checkpoint_dir(args, step)
            if isinstance(parent, dict) and parent.get("step") == step and parent.get("checkpoint"):
                checkpoint = parent["checkpoint"]
            source = "trainer_state.json" + ("" if isinstance(parent, dict) else " (no naiad state)")
            log.resume(checkpoint, step, state.epoch, source)
            self._epoch_step = float(step)

    def _ensure_log(self) -> TrainingLog:
        """The log to write to: reopens a closed run for logs after train() (e.g. evaluate())."""
        if self.run is not None and self.run.closed and self._own_run:
            self.run = Run(
                run_id=self.run.run_id,
                project=self.run.project,
                store=self.run.store_location,
                mode=self.mode,
                on_error="warn",
            )
            self._log = None
        if self.run is None:
            self._open(self._state, None)
        if self._log is None:
            assert self.run is not None
            self._log = TrainingLog(self.run, self.root, self.prefix)
        return self._log

    def _on_log(self, args: Any, state: Any, logs: Mapping[str, Any]) -> None:
        log = self._ensure_log()
        step = state.global_step
        values = dict(logs)
        epoch = values.pop("epoch", None)
        final = "train_runtime" in values  # the entry train() logs once when it ends
        summary = {k: values.pop(k) for k in list(values) if final or k in SUMMARY_KEYS}
        # evaluate()/predict() outside train(), or after it at the final step: every call kept
        log.metrics(values, step, evaluation=not self._training or _is_evaluation(values))
        if isinstance(epoch, (int, float)) and step > self._epoch_step:
            log._guard("epoch", log.run.log_metrics, {log.path("epoch"): float(epoch)}, step=step)
            self._epoch_step = step
        if summary:
            log.summary(summary)

    def _on_save(self, args: Any, state: Any) -> None:
        log = self._ensure_log()
        step = int(state.global_step)
        directory = Path(_checkpoint_dir(args, step))
        if not directory.is_dir():  # a hyperparameter search saves under output_dir/run-<trial>/
            directory = max(
                Path(args.output_dir).glob(f"*/checkpoint-{step}"),
                default=directory,
                key=lambda p: p.stat().st_mtime,
            )
        files = _files(directory)
        upload = self._upload_mode()
        log.checkpoint(
            directory,
            step,
            kind="last",
            extra={"size": sum(f.stat().st_size for f in files), "num_files": len(files)},
        )
        if upload in ("last", "both"):
            _upload(log, "last", directory, files)
        best = state.best_model_checkpoint
        if best and best != self._best:
            self._best = best
            best_step = getattr(state, "best_global_step", None)
            if best_step is None and best.rsplit("-", 1)[-1].isdigit():
                best_step = int(best.rsplit("-", 1)[-1])
            log.configs(
                {
                    "checkpoints/best/path": str(Path(best).resolve()),
                    **({"checkpoints/best/step": int(best_step)} if best_step is not None else {}),
                    **(
                        {"checkpoints/best/metric": float(state.best_metric)}
                        if state.best_metric is not None
                        else {}
                    ),
                    "checkpoints/best/metric_name": str(args.metric_for_best_model),
                    "checkpoints/best/greater_is_better": bool(args.greater_is_better),
                }
            )
            if upload in ("best", "both"):
                _upload(log, "best", Path(best), _files(Path(best)))

    def _upload_mode(self) -> str:
        mode = self.log_checkpoints
        if mode is None:
            mode = bool(self.run is not None and self.run.settings.log_checkpoints)
        if isinstance(mode, bool):
            return "both" if mode else "none"
        return mode

    def _finish(self, status: str) -> None:
        """Record the status and close the run this callback opened."""
        self._training = False
        atexit.unregister(self._at_exit)
        if self._log is None or self.run is None or self.run.closed:
            return
        self._log.configs({"status": status})
        if status == "failed":
            self._log.failed()
        if self._own_run:
            self.run.close()
        else:
            self.run.wait()

    def _at_exit(self) -> None:
        if self._training:
            self._guarded("the failure of training", self._finish, "failed")


def _is_evaluation(values: Mapping[str, Any]) -> bool:
    """An entry of evaluate()/predict() results (``eval_*``, ``test_*``, any ``*_runtime``)."""
    return any(k.endswith("_runtime") for k in values)


def _promoted(args: Any, state: Any, optimizer: Any) -> dict[str, Any]:
    """SPEC §8's promoted hyperparameters, as far as the Trainer knows them."""
    world = getattr(args, "world_size", 1) or 1
    per_step = getattr(args, "train_batch_size", None) or args.per_device_train_batch_size
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate wraps the optimizer
    optim = getattr(args.optim, "value", args.optim)
    return {
        "learning_rate": float(args.learning_rate),
        "batch_size": int(per_step) * int(world),
        "max_epochs": float(args.num_train_epochs),
        "max_steps": int(state.max_steps) if state.max_steps and state.max_steps > 0 else None,
        "grad_accum_steps": int(args.gradient_accumulation_steps),
        "optimizer": type(inner).__name__ if inner is not None else str(optim),
        "weight_decay": float(args.weight_decay),
        "seed": int(args.seed),
    }


def _version() -> str:
    import transformers

    return str(transformers.__version__)


def _checkpoint_dir(args: Any, step: int) -> str:
    """Where Trainer saves the checkpoint of ``step`` (transformers' ``PREFIX_CHECKPOINT_DIR``)."""
    return os.path.abspath(os.path.join(args.output_dir, f"checkpoint-{step}"))


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else []


def _upload(log: TrainingLog, kind: str, directory: Path, files: list[Path]) -> None:
    for file in files:
        path = log.path(f"checkpoints/{kind}/files/{file.relative_to(directory).as_posix()}")
        log._guard(path, log.run.assign_files, {path: str(file)})


# -- the public class, built on first use so that importing this module does not import torch ---------
_callback_class: type | None = None

if TYPE_CHECKING:

    class NaiadCallback(_NaiadCallback, TrainerCallback, ExportableState): ...


def _build() -> type:
    global _callback_class
    if _callback_class is None:
        import transformers.trainer_callback as tc  # imports torch

        bases: tuple[type, ...] = (_NaiadCallback, tc.TrainerCallback)
        if hasattr(tc, "ExportableState"):  # transformers >= 4.41
            bases += (tc.ExportableState,)
        _callback_class = type(
            "NaiadCallback",
            bases,
            {"__module__": __name__, "__qualname__": "NaiadCallback", "__doc__": _NaiadCallback.__doc__},
        )
        globals()["NaiadCallback"] = _callback_class
    return _callback_class


def __getattr__(name: str) -> Any:
    if name == "NaiadCallback":
        return _build()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "NaiadCallback"})


# -- report_to="naiad" ---------------------------------------------------------------------------------
def register() -> None:
    """Make ``TrainingArguments(report_to="naiad")`` build a :class:`NaiadCallback`.

    Runs when this module is imported; calling it again is harmless. When transformers has not
    loaded its integration table yet, the entry is added the moment it does.
    """
    module = sys.modules.get(TABLE_MODULE)
    if module is not None:
        _add_to_table(module)
    elif not any(isinstance(f, _TableHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _TableHook())


def _add_to_table(module: Any) -> None:
    table = getattr(module, TABLE_NAME, None)
    if not isinstance(table, dict):
        warnings.warn(
            f"naiad: transformers {_version()} has no {TABLE_MODULE}.{TABLE_NAME}; "
            "report_to='naiad' is unavailable: pass callbacks=[NaiadCallback()] instead.",
            NaiadWarning,
            stacklevel=2,
        )
        return
    table[REPORT_TO] = _build()


class _TableHook(importlib.abc.MetaPathFinder):
    """One-shot import hook: registers naiad right after transformers loads its integration table."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != TABLE_MODULE:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_and_register(module: Any) -> None:
            exec_module(module)
            try:
                _add_to_table(module)
            except Exception as e:  # never break transformers' own import
                warnings.warn(f"naiad: could not register report_to='naiad': {e}", NaiadWarning, stacklevel=2)

        loader.exec_module = exec_and_register  # this loader instance serves this module only
        return spec


register()
