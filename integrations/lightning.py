"""PyTorch Lightning: ``Trainer(logger=NaiadLogger(...))`` logs a fit under SPEC §8's paths.

What lands where (root ``training/`` by default)::

    training/framework/{name,version}
    training/hyperparams/<flat>        save_hyperparameters() of module and datamodule, plus the
                                       promoted keys (learning_rate, batch_size, max_epochs, ...)
    training/config/{trainer,optimizer}/<flat>
    training/model/{class,num_params,num_trainable_params,summary}
    training/train/<m>  training/train_epoch/<m>  training/val/<m>  training/test/<m>
    training/{val,test}_step/<m>       self.log(..., on_step=True) in validation_step/test_step
    training/epoch                     fractional epochs completed
    training/checkpoints/saved         every file a ModelCheckpoint wrote (series of paths)
    training/checkpoints/{last,best}/{path,step,size,sha256,score,monitor,mode}
    training/checkpoints/by_monitor/<monitor>/*   the best file of each monitor
    training/checkpoints/{last,best}/file, training/checkpoints/files   per log_model
    training/resume/{checkpoint,step,epoch,source}

Series are logged at ``trainer.global_step``, the optimizer updates completed: a batch's loss at
the update it made, the validation that ends an epoch at that epoch's last update.

**Fork on resume.** The logger adds a small callback to the trainer (``NaiadLogger.callback``)
whose Lightning callback state carries the run's identity inside every checkpoint.
``trainer.fit(model, ckpt_path=...)`` with such a checkpoint logs to a new child run forked from
that run at the checkpoint's global step, in the same experiment, so the experiment's curves stay
continuous. For this the logger creates its run only once the checkpoint is restored, at the
start of training; using ``logger.experiment`` before ``trainer.fit`` creates it early, and a
resumed fit then logs into that run instead. ``run_id=`` continues a named run; ``fork_from=``
forks explicitly.

The logger never raises into training because of a logging problem: it warns
(``naiad.NaiadWarning``) and counts the drop in ``sys/diagnostics/dropped``.
"""

from __future__ import annotations

import math
import os
import secrets
import sys
import warnings
from argparse import Namespace
from collections.abc import Mapping
from importlib import import_module
from typing import Any, TypeGuard

try:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import Callback
    from lightning.pytorch.loggers import Logger
    from lightning.pytorch.loggers.logger import (  # type: ignore[attr-defined]  # re-exported, not in __all__
        DummyExperiment,
        rank_zero_experiment,
    )
    from lightning.pytorch.utilities import rank_zero_only
except ModuleNotFoundError:
    try:
        import pytorch_lightning as pl  # type: ignore[no-redef]
        from pytorch_lightning.callbacks import Callback  # type: ignore[assignment]
        from pytorch_lightning.loggers import Logger  # type: ignore[assignment]
        from pytorch_lightning.loggers.logger import (  # type: ignore[assignment,attr-defined]
            DummyExperiment,
            rank_zero_experiment,
        )
        from pytorch_lightning.utilities import rank_zero_only  # type: ignore[assignment]
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            "naiad.integrations.lightning needs PyTorch Lightning 2.x (the `lightning` or "
            "`pytorch_lightning` package): pip install 'naiad[lightning]'",
            name=e.name,
        ) from e

from naiad import NaiadWarning, Run
from naiad.training import (
    DEFAULT_ROOT,
    TrainingLog,
    check_run_kwargs,
    fork_or_new,
    log_model_policy,
    resolve_settings,
    resume_state,
    unwrap_scalar,
)

__all__ = ["NaiadLogger"]

DEFAULT_NAME = "lightning_logs"  # CSVLogger's, TensorBoardLogger's and MLFlowLogger's default
_SETUP_HOOK = "_call_setup_hook"  # Lightning's function that touches logger.experiment in setup
_WRAPPERS = (__name__, "lightning.fabric.", "lightning_fabric.")


class NaiadLogger(Logger):
    """A Lightning ``Logger`` that writes into a naiad store.

    Args:
        experiment_name: the experiment the run belongs to (``sys/name``).
        run_id: continue (or create) the run with this id instead of a new one.
        project, store: where the run goes (defaults: ``NAIAD_*`` environment, config file,
            ``default`` in ``./.naiad``).
        root: the namespace everything goes under.
        log_checkpoints: the older name of ``log_model=True``-like uploads of the last and best
            checkpoint files. Default: ``NAIAD_LOG_CHECKPOINTS``, else off.
        log_model: which checkpoint files' content goes into the store: ``False`` (default:
            only their path, step, size and sha256 are recorded), ``"last"``, ``"best"``,
            ``"all"`` (every file a ``ModelCheckpoint`` writes, as ``checkpoints/files``).
        prefix: a namespace between the root and the metric paths (``training/<prefix>/...``).
        description: ``sys/description`` of the run.
        save_dir: where Lightning puts files that follow the logger (``log_dir`` is
            ``save_dir/name/version``); default the trainer's ``default_root_dir``.
        fork_from: ``(run_id, step)``: start a child run forked from that run at that step.
        run: log into this existing :class:`naiad.Run` (the logger does not close it).
        tags: initial ``sys/tags``.
        run_kwargs: further :class:`naiad.Run` arguments (``mode``, ``description``, ...);
            ``on_error`` defaults to ``"warn"``.

    Attributes:
        callback: the companion ``Callback`` the logger adds to its trainer's callbacks during
            setup; pass it in ``Trainer(callbacks=[...])`` yourself only if you build trainers
            in ways that bypass Lightning's setup.

    Example:
        >>> import lightning.pytorch as pl  # doctest: +SKIP
        >>> logger = NaiadLogger(experiment_name="seabird")  # doctest: +SKIP
        >>> trainer = pl.Trainer(max_epochs=3, logger=logger)  # doctest: +SKIP
        >>> trainer.fit(model, datamodule=data)  # doctest: +SKIP
        >>> logger.experiment["training/val/loss"].fetch_last()  # doctest: +SKIP
    """

    def __init__(
        self,
        experiment_name: str | None = None,
        run_id: str | None = None,
        project: str | None = None,
        store: str | os.PathLike[str] | None = None,
        root: str = DEFAULT_ROOT,
        log_checkpoints: bool | None = None,
        fork_from: tuple[str, int] | None = None,
        run: Run | None = None,
        tags: tuple[str, ...] | list[str] = (),
        *,
        description: str | None = None,
        prefix: str = "",
        log_model: bool | str | None = None,
        save_dir: str | os.PathLike[str] | None = None,
        **run_kwargs: Any,
    ) -> None:
        super().__init__()
        check_run_kwargs(run_kwargs, "NaiadLogger")
        log_model = log_model_policy(log_model, "NaiadLogger")  # a bad value fails here
        settings = resolve_settings(
            {
                "experiment_name": experiment_name,
                "run_id": run_id,
                "project": project,
                "log_checkpoints": log_checkpoints,
                "mode": run_kwargs.get("mode"),
                "on_error": run_kwargs.get("on_error"),
            }
        )  # bad values fail here
        self._experiment_name = settings.experiment_name
        self._run_id = settings.run_id  # an explicit id: continue (or create) that run
        self._new_id = secrets.token_hex(8)  # the id of the run this logger creates otherwise
        self._project = project
        self._store = None if store is None else os.fspath(store)
        self._root = root
        # log_model (the name WandbLogger / MLFlowLogger / NeptuneLogger use) wins over the setting
        self._log_model: bool | str = log_model if log_model is not None else settings.log_checkpoints
        self._prefix = prefix
        self._save_dir = None if save_dir is None else os.fspath(save_dir)
        if description is not None:
            run_kwargs["description"] = description
        self._epoch_x = -1
        self._max_step = 0  # the highest optimizer step this logger wrote into its run
        self._offset = 0  # steps a later fit() with this logger adds to trainer.global_step
        self._fits = 0
        self._state_key = "NaiadLogger"
        self._fork_from = None if fork_from is None else (str(fork_from[0]), int(fork_from[1]))
        self._tags = tuple(tags)
        self._run_kwargs = {"on_error": "warn", **run_kwargs}
        self._run: Run | None = run
        self._owns_run = run is None
        self._log: TrainingLog | None = None if run is None else TrainingLog(run, root, prefix)
        self._framework_logged = False
        self._trainer: pl.Trainer | None = None
        self._train_started = False
        self._hparams: dict[str, Any] = {}
        self._parent: dict[str, Any] | None = None  # naiad state found in a restored checkpoint
        self._restored: dict[str, Any] | None = None  # the restored checkpoint, until recorded
        self._exception: BaseException | None = None
        self._explicit_fork: tuple[str, int] | None = None
        self._reopen: dict[str, Any] = {
            "store": None if run is None else run.store_location,
            "mode": None if run is None else run.mode,
        }
        self._rank_run: Run | None = None  # this process's session in rank 0's run (rank > 0)
        self.callback = _NaiadCallback(self)

    # -- Lightning's Logger contract ------------------------------------------------------------
    @property
    def name(self) -> str:
        """The experiment name; ``"lightning_logs"`` when the run has none (the name every
        Lightning logger defaults to, so ``log_dir`` and checkpoint folders look alike).
        The run itself is not put into an experiment of that name."""
        if self._run is not None:
            return self._run.experiment_name or DEFAULT_NAME
        return self._experiment_name or (self._parent or {}).get("experiment") or DEFAULT_NAME

    @property
    def version(self) -> str:
        """The run id (known before the run is created)."""
        if self._run is not None:
            return self._run.run_id
        return self._run_id or self._new_id

    @property
    def save_dir(self) -> str:
        """Lightning's directory for files that follow the logger (checkpoints, profiler, CLI config)."""
        if self._save_dir is not None:
            return self._save_dir
        # Lightning sets up the profiler (SimpleProfiler(filename=...)) from trainer.log_dir
        # before any hook shows the logger its trainer: the trainer asking is the one to follow
        trainer = _trainer_asking(self) or self._trainer
        return str(trainer.default_root_dir) if trainer is not None else os.getcwd()

    @property
    def log_dir(self) -> str:
        return os.path.join(self.save_dir, self.name, self.version)

    # -- pickling (ddp_spawn, deepcopy, pickle.dumps(trainer)): the run stays in this process
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        run = state.get("_run")
        if run is not None:
            # a copy logs into the same run, reopening it where it is unpickled
            state["_run_id"] = state["_run_id"] or run.run_id
            state["_reopen"] = {"store": run.store_location, "mode": run.mode}
            state["_project"] = state["_project"] or run.project
        state.update(_run=None, _log=None, _trainer=None, _exception=None, _rank_run=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- media ---------------------------------------------------------------------------------
    @rank_zero_only
    def log_image(self, key: str, image: Any, step: int | None = None) -> None:
        """Append an image (path, PNG bytes, PIL image, array or tensor) to ``training/images/<key>``."""
        self._ensure_log().image(key, image, self._media_step(step))

    @rank_zero_only
    def log_table(
        self, key: str, table: Any, step: int | None = None, columns: list[str] | None = None
    ) -> None:
        """Append a table (DataFrame, list of dicts, or rows and ``columns``) to ``training/tables/<key>``."""
        self._ensure_log().table(key, table, self._media_step(step), columns)

    @rank_zero_only
    def log_text(self, key: str, text: str, step: int | None = None) -> None:
        """Append a string to ``training/text/<key>``."""
        self._ensure_log().text(key, text, self._media_step(step))

    def _media_step(self, step: int | None) -> int:
        if step is not None:
            return int(step)
        trainer = self._trainer
        return self._offset + int(trainer.global_step) if trainer is not None else self._max_step

    @property
    @rank_zero_experiment
    def experiment(self) -> Run:
        """The :class:`naiad.Run` this logger writes to (created on first use)."""
        trainer = _trainer_in_setup()
        if trainer is not None:
            self._attach(trainer)
            if self._run is None or self._run.closed:
                # Lightning's setup touches `experiment` before it restores a checkpoint; creating
                # the run now would make a fork on resume impossible, so the run waits until then.
                return DummyExperiment()  # type: ignore[return-value,no-any-return]
        if self._run is None or self._run.closed:
            self._ensure_log()
        assert self._run is not None
        return self._run

    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        """Record ``save_hyperparameters()`` (flattened) plus the promoted keys."""
        self._hparams.update(vars(params) if isinstance(params, Namespace) else dict(params or {}))
        if self._waiting_for_restore():
            return  # written when training starts, into the run a resume may fork
        self._write_hparams()

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log every key under its normalized path (the evaluation rule of ``naiad.training``).

        In fit: at the optimizer step; a logged ``"step"`` key is the x Lightning documents.
        Step-level evaluation values go to ``<phase>_step/<m>``; evaluations after or outside
        fit to ``<phase>/<m>``, a repeated one 0.001 after the last point of its step. Without a
        trainer and without ``step``: each series' last step + 1.
        """
        log = self._ensure_log()
        values = dict(metrics)
        given_epoch = values.pop("epoch", None)
        trainer = self._trainer
        stage = _stage(trainer)
        if stage in ("validate", "test", "predict", "sanity_check"):
            phase = "test" if stage == "test" else ("predict" if stage == "predict" else "val")
            step_level = getattr(trainer._logger_connector, "_first_loop_iter", None) is not None  # type: ignore[union-attr]
            in_fit = trainer.state.fn == "fit"  # type: ignore[union-attr]
            at = self._offset + int(trainer.global_step)  # type: ignore[union-attr]
            log.metrics(values, at, phase, evaluation=not in_fit, step_level=step_level)
            return
        x = self._step(step)
        log.metrics(values, x)
        if x is None:
            return
        self._max_step = max(self._max_step, int(x))
        epoch = self._epochs(int(x) - self._offset, given_epoch)
        if epoch is not None and x > self._epoch_x:  # once per step (LearningRateMonitor logs too)
            self._epoch_x = x
            log.series({"epoch": epoch}, x)

    def log_graph(self, model: Any, input_array: Any = None) -> None:
        # Lightning calls this once a fit is set up: the trainer, if setup did not show it to us
        trainer = getattr(model, "_trainer", None)
        if self._trainer is None and _is_trainer(trainer):
            self._attach(trainer)

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Record the file a ``ModelCheckpoint`` just wrote (and upload it if asked)."""
        cb = checkpoint_callback
        path = getattr(cb, "_last_checkpoint_saved", "") or getattr(cb, "last_model_path", "")
        if not path:
            return
        log = self._ensure_log()
        step = (
            self._trainer.global_step
            if self._trainer is not None
            else int(getattr(cb, "_last_global_step_saved", 0))
        )
        best = getattr(cb, "best_model_path", "")
        is_best = bool(best) and os.path.abspath(best) == os.path.abspath(path)
        monitor = getattr(cb, "monitor", None)
        extra = {
            "score": _number(getattr(cb, "current_score", None)) if monitor else None,
            "monitor": monitor,
            "mode": getattr(cb, "mode", None) if monitor else None,
        }
        # Lightning passes a weakref.proxy: compare with ==, which the proxy forwards
        primary = self._trainer is None or cb == getattr(self._trainer, "checkpoint_callback", cb)
        kind: tuple[str, ...] = ("last", "best") if is_best and primary else ("last",)
        log.checkpoint(
            path,
            self._offset + step,
            kind=kind,
            upload=self._log_model,
            extra=extra,
            monitor=monitor if is_best else None,  # one best per monitor, however many callbacks
        )

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Mark the run failed if the fit failed, then close it (a later fit or test reopens it)."""
        if status == "failed":
            self._ensure_log().failed(self._exception)
        self._exception = None
        run = self._run
        if run is None or run.closed:
            return
        try:
            if self._owns_run:
                run.close()
            else:
                run.wait()
        except Exception as e:  # the training is over; still never raise from the logger
            warnings.warn(
                f"naiad: could not close run '{run.run_id}': {type(e).__name__}: {e}",
                NaiadWarning,
                stacklevel=2,
            )

    # -- the run ---------------------------------------------------------------------------------
    def _ensure_log(self) -> TrainingLog:
        """The log to write to: creates (or, after ``finalize``, reopens) the run."""
        run = self._run
        if run is None or run.closed:
            try:
                if run is None:
                    run = self._open_run()
                else:  # closed by finalize: a later test() or fit() logs on into it
                    run = Run(run_id=run.run_id, project=run.project, **self._reopen)
            except Exception as e:  # e.g. an unwritable store: train on, log nothing
                warnings.warn(
                    f"naiad: could not open the run, nothing will be logged: {type(e).__name__}: {e}",
                    NaiadWarning,
                    stacklevel=3,
                )
                run = Run(run_id=self.version, mode="disabled")
                self._reopen = {"mode": "disabled"}
            self._run, self._log = run, TrainingLog(run, self._root, self._prefix)
            self._framework_logged = False
        assert self._log is not None
        if not self._framework_logged:
            self._framework_logged = True
            self._log.framework(pl.__name__.split(".")[0], str(getattr(pl, "__version__", "")))
            if self._hparams or self._trainer is not None:
                self._write_hparams()
            if self._explicit_fork is not None:
                self._log.resume("", self._explicit_fork[1], None, "fork_from")
                self._explicit_fork = None
        return self._log

    def _open_run(self) -> Run:
        where: dict[str, Any] = {
            "experiment_name": self._experiment_name,
            "project": self._project,
            "store": self._store,
        }
        kwargs = {"tags": self._tags, **self._run_kwargs}
        parent, step = None, None
        if self._fork_from is not None:
            parent, step = self._fork_from
            if where["experiment_name"] is None:
                try:
                    with Run(run_id=parent, project=self._project, store=self._store, mode="read-only") as p:
                        where["experiment_name"] = p.experiment_name
                except Exception:
                    pass  # the fork below reports the missing parent
        elif self._run_id is None and self._parent and self._restored is not None:
            parent, step = self._parent.get("run_id"), int(self._restored["step"])
            where = {
                "experiment_name": self._experiment_name or self._parent.get("experiment"),
                "project": self._project or self._parent.get("project"),
                "store": self._store or self._parent.get("store"),
            }
        run_id = self._run_id or self._new_id
        self._reopen = {"store": where["store"], **self._run_kwargs}
        if not parent:
            return Run(run_id=run_id, **where, **kwargs)
        run, forked = fork_or_new(run_id, parent, int(step or 0), **where, **kwargs)
        if forked and self._fork_from is not None:
            self._fork_from = None  # a later fit with this logger continues the child
            self._explicit_fork = (parent, int(step or 0))
        return run

    def _attach(self, trainer: pl.Trainer) -> None:
        """Follow this trainer; its callbacks get ours (for checkpoint state and train start)."""
        self._trainer = trainer
        self._train_started = False
        # two NaiadLoggers in one trainer: each its own key in the checkpoint's callback state
        ours = [lg for lg in trainer.loggers if isinstance(lg, NaiadLogger)]
        index = next((i for i, lg in enumerate(ours) if lg is self), 0)
        self._state_key = "NaiadLogger" if index == 0 else f"NaiadLogger[{index}]"
        callbacks: list[Callback] = trainer.callbacks  # type: ignore[attr-defined]  # set in Trainer.__init__
        if not any(cb is self.callback for cb in callbacks):
            callbacks.insert(0, self.callback)

    def _waiting_for_restore(self) -> bool:
        trainer = self._trainer
        return (
            trainer is not None
            and not self._train_started
            and trainer.state.fn == "fit"
            and (self._run is None or self._run.closed)
        )

    # -- what the companion callback reports ---------------------------------------------------
    def _checkpoint_state(self) -> dict[str, Any]:
        run = self._run
        return {} if run is None or self._log is None else resume_state(run)

    def _on_restore(self, trainer: pl.Trainer, checkpoint: Mapping[str, Any]) -> None:
        if trainer.state.fn != "fit":
            return
        self._parent = None  # until load_state_dict, called next, finds naiad state
        self._restored = {
            "checkpoint": str(trainer.ckpt_path or ""),
            "step": int(checkpoint.get("global_step", 0)),
            "epoch": checkpoint.get("epoch"),
        }
        if self._run is None or not self._owns_run or self._run_id is not None:
            return  # the run is still to be made, or the user named the run to log into
        if self._run.closed:
            # this logger's earlier fit is over: the resumed fit forks a new child of it
            self._run, self._log, self._new_id = None, None, secrets.token_hex(8)
        else:
            warnings.warn(
                "naiad: logger.experiment was used before Lightning restored the "
                "checkpoint, so the resumed fit logs into that run instead of a forked "
                "child run.",
                NaiadWarning,
                stacklevel=2,
            )

    # -- the other ranks: sessions in rank 0's run, for their console, system metrics, failure
    def _join_ranks(self, trainer: pl.Trainer) -> None:
        """Rank 0 tells every rank its run; the others attach to it, logging no metrics.

        Each such process is a labelled session (``monitoring/rank<k>/…``, naiad's capture),
        so the run stays active while any rank trains and a rank's crash marks it failed.
        """
        if trainer.world_size < 2:
            return
        where: dict[str, Any] | None = None
        run = self._run
        if trainer.is_global_zero and run is not None and not run.closed and run.mode in ("async", "sync"):
            where = {"run_id": run.run_id, "project": run.project, "store": run.store_location}
            where["mode"] = run.mode
        where = trainer.strategy.broadcast(where, src=0)  # every rank calls it: one collective
        if trainer.is_global_zero or where is None:
            return
        if self._rank_run is not None and not self._rank_run.closed:
            if self._rank_run.run_id == where["run_id"]:
                return
            self._leave_ranks(None)
        try:
            self._rank_run = Run(**where, on_error="warn")
        except Exception as e:  # train on without this rank's capture
            warnings.warn(
                f"naiad: rank {trainer.global_rank} could not attach to run '{where['run_id']}': "
                f"{type(e).__name__}: {e}",
                NaiadWarning,
                stacklevel=2,
            )

    def _leave_ranks(self, exception: BaseException | None) -> None:
        run, self._rank_run = self._rank_run, None
        if run is None:
            return
        try:
            if exception is not None:
                run.mark_failed(exception)  # names this rank in sys/diagnostics/failed_process
            run.close()
        except Exception:  # the training is over; never raise from the logger
            pass

    def _on_train_start(self, trainer: pl.Trainer, module: Any) -> None:
        self._trainer, self._train_started = trainer, True
        existed = self._run is not None and not self._run.closed and self._framework_logged
        reopened = self._run is not None and self._run.closed and self._restored is None
        log = self._ensure_log()
        if not reopened and not existed:
            self._max_step, self._offset, self._fits, self._epoch_x = 0, 0, 0, -1
        self._fits += 1
        # a later fit() with this logger (two-stage fine-tuning) continues the run's x axis
        self._offset = max(0, self._max_step - int(trainer.global_step)) if self._fits > 1 else 0
        if self._offset:
            log.configs({f"fits/{self._fits}/step_offset": self._offset})
        if existed:
            self._write_hparams()
        log.config("trainer", _trainer_config(trainer))
        if trainer.optimizers:
            log.config("optimizer", _optimizer_config(trainer))
        params = list(module.parameters())
        log.model(
            type(module).__name__,
            sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad),
            summary=_summary(module),
        )
        restored, self._restored = self._restored, None
        parent, self._parent = self._parent, None
        if restored is not None:
            step = restored["step"]
            epoch = self._epochs(step, restored["epoch"])
            source = "Trainer.fit(ckpt_path)" if parent else "Trainer.fit(ckpt_path) (no naiad state)"
            log.resume(restored["checkpoint"], step, epoch, source)

    # -- helpers ---------------------------------------------------------------------------------
    def _write_hparams(self) -> None:
        log = self._log if self._run is not None and not self._run.closed else self._ensure_log()
        assert log is not None
        log.hyperparams(self._hparams, promoted=_promoted(self._hparams, self._trainer))

    def _step(self, given: int | None) -> int | None:
        """Optimizer updates completed: ``trainer.global_step``.

        Lightning hands loggers a batch counter that it increments only after a batch's metrics
        (and the validation that ends an epoch) are logged, one behind the update just made;
        ``global_step`` already counts it. Manual optimization keeps Lightning's counter, which
        advances once per batch however many optimizers stepped, and a step you pass yourself
        outside a running trainer is kept.
        """
        trainer = self._trainer
        running = trainer is not None and trainer.state.status == "running"
        module = trainer.lightning_module if running else None  # type: ignore[union-attr]
        if module is not None and module.automatic_optimization:
            assert trainer is not None
            default = trainer.fit_loop.epoch_loop._batches_that_stepped
            if given is not None and int(given) != default:
                return int(given)  # the user logged a "step" key: Lightning's documented x
            return self._offset + int(trainer.global_step)
        return None if given is None else self._offset + int(given)

    def _epochs(self, step: int, given: Any) -> float | None:
        """Fractional epochs completed at ``step``; Lightning's integer epoch when unknown."""
        trainer = self._trainer
        if trainer is not None:
            batches = trainer.num_training_batches
            if isinstance(batches, int) and batches > 0:
                return step / math.ceil(batches / max(1, int(trainer.accumulate_grad_batches)))
        given = unwrap_scalar(given)
        return float(given) if isinstance(given, (int, float)) else None


class _NaiadCallback(Callback):
    """The logger's companion: carries the run's identity in checkpoints, sees the trainer."""

    def __init__(self, logger: NaiadLogger) -> None:
        self._logger = logger

    @property
    def state_key(self) -> str:
        return self._logger._state_key

    def state_dict(self) -> dict[str, Any]:
        return self._logger._checkpoint_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._logger._parent = dict(state_dict) if state_dict.get("run_id") else None

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        if trainer.is_global_zero:
            self._logger._on_restore(trainer, checkpoint)

    def on_train_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if trainer.is_global_zero:
            self._logger._on_train_start(trainer, pl_module)
        self._logger._join_ranks(trainer)

    def on_exception(self, trainer: pl.Trainer, pl_module: Any, exception: BaseException) -> None:
        self._logger._exception = exception
        self._logger._leave_ranks(exception)

    def teardown(self, trainer: pl.Trainer, pl_module: Any, stage: str) -> None:
        self._logger._leave_ranks(None)


def _stage(trainer: pl.Trainer | None) -> str | None:
    """The running trainer's stage (``train``, ``validate``, ``test``, ``sanity_check``, ...)."""
    if trainer is None or trainer.state.status != "running" or trainer.state.stage is None:
        return None
    return str(trainer.state.stage.value)


def _trainer_in_setup() -> pl.Trainer | None:
    """The Trainer, when the caller is Lightning's setup step touching ``logger.experiment``."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_WRAPPERS):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None or frame.f_code.co_name != _SETUP_HOOK:
        return None
    trainer = frame.f_locals.get("trainer")
    return trainer if _is_trainer(trainer) else None


def _trainer_asking(logger: NaiadLogger) -> pl.Trainer | None:
    """The Trainer whose code (e.g. its ``log_dir`` property) reads this logger's directory."""
    frame = sys._getframe(2)
    for _ in range(3):
        if frame is None:
            return None
        obj = frame.f_locals.get("self")
        if _is_trainer(obj) and any(lg is logger for lg in obj.loggers):
            return obj
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _is_trainer(obj: Any) -> TypeGuard[pl.Trainer]:
    """A Trainer of either package name (both may be installed, with distinct classes)."""
    packages = ("lightning.pytorch.", "pytorch_lightning.")
    return any(c.__name__ == "Trainer" and c.__module__.startswith(packages) for c in type(obj).__mro__)


def _number(value: Any) -> float | None:
    value = unwrap_scalar(value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _promoted(hparams: Mapping[str, Any], trainer: pl.Trainer | None) -> dict[str, Any]:
    """SPEC §8's promoted hyperparameters: the user's own first, else what the trainer knows."""

    def declared(*names: str) -> Any:
        for name in names:
            value = unwrap_scalar(hparams.get(name))
            if isinstance(value, (bool, int, float, str)):
                return value
        return None

    out: dict[str, Any] = {
        "learning_rate": _number(declared("learning_rate", "lr")),
        "batch_size": declared("batch_size"),
        "optimizer": declared("optimizer", "optimizer_name"),
        "weight_decay": _number(declared("weight_decay")),
        "seed": declared("seed"),
    }
    if trainer is not None:
        group: dict[str, Any] = trainer.optimizers[0].param_groups[0] if trainer.optimizers else {}
        fallback = {
            "learning_rate": _number(group.get("initial_lr", group.get("lr"))),
            "batch_size": _batch_size(trainer),
            "optimizer": type(trainer.optimizers[0]).__name__ if trainer.optimizers else None,
            "weight_decay": _number(group.get("weight_decay")),
        }
        out.update({k: v for k, v in fallback.items() if out.get(k) is None})
        max_epochs, max_steps = trainer.max_epochs, trainer.max_steps
        out["max_epochs"] = max_epochs if max_epochs is not None and max_epochs >= 0 else None
        out["max_steps"] = max_steps if max_steps >= 0 else None  # -1: no limit
        out["grad_accum_steps"] = int(trainer.accumulate_grad_batches)
    if out["seed"] is None and os.environ.get("PL_GLOBAL_SEED", "").lstrip("-").isdigit():
        out["seed"] = int(os.environ["PL_GLOBAL_SEED"])  # set by lightning's seed_everything
    return out


def _batch_size(trainer: pl.Trainer) -> int | None:
    try:
        loader = trainer.train_dataloader
    except Exception:
        return None
    size = getattr(loader, "batch_size", None)
    return size if isinstance(size, int) else None


def _trainer_config(trainer: pl.Trainer) -> dict[str, Any]:
    names = (
        "max_epochs",
        "min_epochs",
        "max_steps",
        "min_steps",
        "accumulate_grad_batches",
        "precision",
        "gradient_clip_val",
        "gradient_clip_algorithm",
        "val_check_interval",
        "check_val_every_n_epoch",
        "log_every_n_steps",
        "num_devices",
        "num_nodes",
        "limit_train_batches",
        "limit_val_batches",
        "num_training_batches",
    )
    out = {name: getattr(trainer, name, None) for name in names}
    out["accelerator"] = type(trainer.accelerator).__name__
    out["strategy"] = type(trainer.strategy).__name__
    return out


def _optimizer_config(trainer: pl.Trainer) -> dict[str, Any]:
    optimizer = trainer.optimizers[0]
    group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    out: dict[str, Any] = {
        "class": type(optimizer).__name__,
        "num_param_groups": len(optimizer.param_groups),
        **group,
    }
    if trainer.lr_scheduler_configs:
        out["scheduler"] = type(trainer.lr_scheduler_configs[0].scheduler).__name__
    return out


def _summary(module: Any) -> str | None:
    try:
        summary = import_module(f"{pl.__name__}.utilities.model_summary").ModelSummary
        return str(summary(module, max_depth=1))
    except Exception:  # a summary is a nicety; some modules cannot be summarized
        return None
