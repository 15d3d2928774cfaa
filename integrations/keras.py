"""Keras 3: ``model.fit(..., callbacks=[NaiadCallback(...)])``.

:class:`NaiadCallback` logs a ``fit`` under the standardized paths of SPEC §8 (root
``training/`` by default). Steps are optimizer updates completed (``optimizer.iterations``,
read after each batch)::

    training/framework/{name,version}        keras, keras.__version__
    training/config/trainer/*                fit params (epochs, steps, ...), backend,
                                             batch_metrics = "running_mean"
    training/config/optimizer/*              optimizer.get_config()
    training/hyperparams/*                   learning_rate, optimizer, max_epochs, batch_size,
                                             weight_decay, grad_accum_steps, plus hyperparams=
    training/model/{summary,class,num_params,num_trainable_params}
    training/train/<metric>                  batch logs: Keras' running means over the epoch
    training/train/learning_rate             read from the optimizer (ReduceLROnPlateau works)
    training/train_epoch/<metric>            epoch logs; val_<metric> → training/val/<metric>
    training/epoch                           fractional epochs completed
    training/val_step/<metric>               each validation batch's values (x = batches so far)
    training/test/<metric>, test_step/<m>    evaluate(callbacks=[cb]) results and its batches
    training/predict/batches                 one point per predict(callbacks=[cb])
    training/checkpoints/...                 naiad's ModelCheckpoint (below), per log_model
    training/resume/*                        when a fit resumed from BackupAndRestore
    training/summary/{status,runtime_s,epochs,steps}

Decisions worth knowing:

- The module does not pick a Keras backend: set ``KERAS_BACKEND`` before importing Keras
  (naiad is tested on ``torch``).
- The run is created when the first epoch begins, after every callback's ``on_train_begin``,
  so that ``keras.callbacks.BackupAndRestore`` has restored its state wherever it sits in the
  callback list. Pass ``run=`` to log into a run of your own (it is never closed for you).
- Fork on resume: the callback writes ``naiad_run.json`` (run id, project, store, experiment)
  into the ``BackupAndRestore`` directory (found in the fit's callback list, or ``backup_dir=``).
  When a later fit restores from that directory at step S > 0, the callback logs to a new run
  forked from the recorded one at S, in the same experiment. ``fork_from=(run_id, step)`` does
  the same explicitly.
- Failure: Keras calls no hook when ``fit`` raises. An uncaught exception marks every open run
  failed (naiad's process hook). A caught one is seen when Keras drops that fit's callback
  list (at once in CPython, when the exception is discarded): the run gets ``sys/failed`` and
  is closed. ``with NaiadCallback(...) as cb: model.fit(..., callbacks=[cb])`` does the same
  deterministically and keeps the exception's text (handy in notebooks, which keep the last
  traceback alive).
- Keras gives callbacks no handle on their callback list; naiad finds it on the caller's stack
  (to see ``BackupAndRestore`` and the end of the fit) and falls back to ``backup_dir=``.
- The run is closed when the fit ends; a later fit with the same callback continues that run
  when the optimizer's step went on (the same model), else it starts a new one.
- Only the main process logs (rank 0 of a multi-process JAX or ``torch.distributed`` run).
- A logging problem never stops training: it warns (``naiad.NaiadWarning``) and is counted in
  ``sys/diagnostics/dropped``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import types
import warnings
import weakref
from collections.abc import Mapping
from typing import Any

try:
    import keras
except ModuleNotFoundError as e:
    if e.name != "keras":
        raise
    raise ModuleNotFoundError(
        "naiad.integrations.keras needs Keras 3: pip install 'naiad[keras]'", name="keras"
    ) from e
if int(keras.__version__.split(".")[0]) < 3:
    raise ImportError(
        f"naiad.integrations.keras needs Keras 3 (found {keras.__version__}): pip install 'naiad[keras]'"
    )

from naiad import Run
from naiad.errors import NaiadWarning
from naiad.training import (
    DEFAULT_ROOT,
    TrainingLog,
    check_run_kwargs,
    fork_or_new,
    log_model_policy,
    metric_path,
    on_writer_thread,
    resume_state,
)

__all__ = ["ModelCheckpoint", "NaiadCallback"]

STATE_FILE = "naiad_run.json"
_by_model: weakref.WeakKeyDictionary[Any, weakref.ref[NaiadCallback]] = weakref.WeakKeyDictionary()
_in_fit: weakref.WeakValueDictionary[str, NaiadCallback] = weakref.WeakValueDictionary()


def _warn(message: str) -> None:
    warnings.warn(f"naiad: {message}", NaiadWarning, stacklevel=3)


def _number(value: Any) -> float:
    return float(keras.ops.convert_to_numpy(value))


def _main_process() -> bool:
    """False on the non-zero ranks of a multi-process training: only rank 0 logs."""
    try:
        if keras.backend.backend() == "jax":
            import jax

            return bool(jax.process_index() == 0)
        if keras.backend.backend() == "torch":
            import torch.distributed as dist

            return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
    except Exception:  # no distributed runtime to ask: a single process
        pass
    return True


class NaiadCallback(keras.callbacks.Callback):
    """Log a Keras 3 ``fit`` to a naiad run under the standardized ``training/`` paths.

    Args:
        experiment_name, run_id, project, store: where the run goes (see :class:`naiad.Run`).
        root: the namespace everything is logged under.
        log_every_n_batches: log batch metrics at every n-th optimizer update; 0 logs epoch
            metrics only. When it is not 0, every evaluation batch's values are kept too, in
            ``training/{val,test}_step/<m>`` (x = evaluation batches so far).
        hyperparams: your hyperparameters (nested dicts are flattened).
        batch_size: recorded as ``hyperparams/batch_size`` (Keras does not tell callbacks).
        log_checkpoints: the older name of ``log_model=True``-like uploads: ``True`` stores the
            last and best files naiad's :class:`ModelCheckpoint` writes.
        log_model: which checkpoint files' content goes into the store, as for the Lightning
            logger: ``False`` (default: only their path, step, size and sha256 are recorded),
            ``"last"``, ``"best"``, ``"all"`` (every file written, as ``checkpoints/files``;
            ``True`` is ``"all"``). It wins over ``log_checkpoints``.
        fork_from: ``(run_id, step)``: log to a new run forked from ``run_id`` at ``step``.
        backup_dir: the ``BackupAndRestore`` directory, when it is not in the callback list.
        run: an open run to log into instead of creating one (never closed by the callback).
        prefix: a namespace between the root and the metric paths (``training/<prefix>/...``),
            as for the Lightning logger.
        **run_kwargs: more :class:`naiad.Run` arguments (``tags``, ``mode``, ...).

    Example:
        >>> cb = NaiadCallback(experiment_name="seabird", hyperparams={"hidden": 64})  # doctest: +SKIP
        >>> model.fit(x, y, epochs=3, validation_split=0.2, callbacks=[cb])  # doctest: +SKIP
        >>> cb.run.run_id  # doctest: +SKIP
    """

    def __init__(
        self,
        experiment_name: str | None = None,
        run_id: str | None = None,
        project: str | None = None,
        store: str | os.PathLike[str] | None = None,
        root: str = DEFAULT_ROOT,
        log_every_n_batches: int = 1,
        hyperparams: Mapping[str, Any] | None = None,
        batch_size: int | None = None,
        log_checkpoints: bool = False,
        fork_from: tuple[str, int] | None = None,
        backup_dir: str | os.PathLike[str] | None = None,
        run: Run | None = None,
        prefix: str = "",
        log_model: bool | str | None = None,
        **run_kwargs: Any,
    ) -> None:
        super().__init__()
        check_run_kwargs(run_kwargs, "NaiadCallback")
        log_model = log_model_policy(log_model, "NaiadCallback")  # a bad value fails here
        if (
            isinstance(log_every_n_batches, bool)
            or not isinstance(log_every_n_batches, int)
            or log_every_n_batches < 0
        ):
            raise ValueError(f"log_every_n_batches must be an int >= 0, got {log_every_n_batches!r}.")
        if fork_from is not None and (len(fork_from) != 2 or not isinstance(fork_from[0], str)):
            raise ValueError(f"fork_from takes (run_id, step), got {fork_from!r}.")
        self.experiment_name, self.run_id, self.project = experiment_name, run_id, project
        self.store = None if store is None else os.fspath(store)
        self.root, self.log_every_n_batches = root, log_every_n_batches
        self.hyperparams = dict(hyperparams or {})
        self.batch_size, self.log_checkpoints = batch_size, log_checkpoints
        self.log_model: bool | str = log_model if log_model is not None else log_checkpoints
        self.fork_from = fork_from
        self.backup_dir = None if backup_dir is None else os.fspath(backup_dir)
        self.run = run
        self.prefix = prefix
        self._own = run is None
        self._run_kwargs = run_kwargs
        self._log: TrainingLog | None = TrainingLog(run, root, prefix) if run is not None else None
        self._fit: object | None = None  # token of the fit in progress
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._backup: str | None = None
        self._broken = False
        self._prev: tuple[str, int, str, Any] | None = None  # run id, step, project, store of a fit
        self._t0 = 0.0
        self._counter = 0
        self._epoch = 0
        self._batch: int | None = None
        self._epochs_done = 0
        self._last_logged: int | None = None
        self._ready = False
        self._primary: ModelCheckpoint | None = None  # its best is checkpoints/best
        self._eval: TrainingLog | None = None  # the run of an evaluate() outside fit
        self._eval_opened = False

    # -- context manager: deterministic failure marking ---------------------------------------
    def __enter__(self) -> NaiadCallback:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._fit is not None:
            self._end_fit("failed", exc)
        self.close()

    def close(self) -> None:
        """Close the run the callback created (a no-op for ``run=`` runs and closed runs)."""
        if self._own and self.run is not None and not self.run.closed:
            try:
                self.run.close()
            except Exception as e:
                _warn(f"could not close run '{self.run.run_id}': {type(e).__name__}: {e}")

    # -- media, as on the Lightning logger (naiad.training's helpers) --------------------------
    def log_image(self, key: str, image: Any, step: int | None = None) -> None:
        """Append an image (path, PNG bytes, PIL image, array or tensor) to ``training/images/<key>``."""
        self._media("image", key, image, step)

    def log_table(
        self, key: str, table: Any, step: int | None = None, columns: list[str] | None = None
    ) -> None:
        """Append a table (DataFrame, list of dicts, or rows and ``columns``) to ``training/tables/<key>``."""
        self._media("table", key, table, step, columns)

    def log_text(self, key: str, text: str, step: int | None = None) -> None:
        """Append a string to ``training/text/<key>``."""
        self._media("text", key, text, step)

    def _media(self, kind: str, key: str, value: Any, step: int | None, *extra: Any) -> None:
        log = self._log
        if log is None or self.run is None or self.run.closed:
            _warn(f"{kind} '{key}' not logged: the callback has no open run (call it during or after fit)")
            return
        try:
            x = int(step) if step is not None else self._step()
            getattr(log, kind)(key, value, x, *extra)
        except Exception as e:  # a logging problem must never stop training
            _warn(f"could not log {kind} '{key}': {type(e).__name__}: {e}")

    # -- Keras hooks ---------------------------------------------------------------------------
    def set_model(self, model: Any) -> None:
        super().set_model(model)
        with contextlib.suppress(TypeError):  # unhashable model: ModelCheckpoint needs naiad_callback=
            _by_model[model] = weakref.ref(self)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._fit is not None:  # the previous fit with this callback never reached its end
            self._end_fit("failed", None)
        token = self._fit = object()
        self._t0, self._epochs_done, self._last_logged = time.monotonic(), 0, None
        self._broken, self._ready = not _main_process(), False
        self._backup = self.backup_dir
        callback_list = self._callback_list()
        self._primary = None
        if callback_list is not None:
            # several ModelCheckpoints: the first in the list owns checkpoints/best (as Lightning's
            # trainer.checkpoint_callback); each monitor has its best in checkpoints/by_monitor
            self._primary = next((c for c in callback_list.callbacks if isinstance(c, ModelCheckpoint)), None)
            # Keras calls nothing when fit raises; the callback list dying before on_train_end is the sign
            self._finalizer = weakref.finalize(callback_list, self._fit_dropped, token)
            if self._backup is None:
                for cb in callback_list.callbacks:
                    if isinstance(cb, keras.callbacks.BackupAndRestore):
                        self._backup = os.fspath(cb.backup_dir)

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._epoch, self._batch = epoch, None
        if self._last_logged is None:  # the fit's first epoch, after any restore
            self._last_logged = self._step()
        self._ensure_run(epoch)

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._batch = batch
        self._counter += 1
        log = self._ensure_run(self._epoch)
        if log is None or not self.log_every_n_batches:
            return
        step, n = self._step(), self.log_every_n_batches
        if self._last_logged is not None and step // n <= self._last_logged // n:
            return  # log at multiples of n (crossed, when steps_per_execution > 1)
        self._last_logged = step
        pre = f"{log.prefix}/" if log.prefix else ""  # prefix= sits between root and metric paths
        values = {pre + metric_path(k): v for k, v in (logs or {}).items()}
        lr = self._learning_rate()
        if lr is not None:
            values[pre + "train/learning_rate"] = lr
        fraction = self._fraction()
        if fraction is not None:
            values["epoch"] = fraction
        log.series(values, step)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        log = self._ensure_run(epoch)
        self._epochs_done += 1
        if log is None:
            return
        step = self._step()
        # the learning rate is read from the optimizer per batch; ReduceLROnPlateau's copy in
        # the epoch logs would be a second writer of train/learning_rate
        values = {
            k: v for k, v in (logs or {}).items() if not metric_path(k).startswith("train/learning_rate")
        }
        log.metrics(values, step, default_phase="train_epoch")
        log.series({"epoch": self._fraction() or epoch + 1}, step)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._fit is None:
            return
        self._ensure_run(self._epoch)
        stopped = bool(getattr(self.model, "stop_training", False))
        self._end_fit("stopped" if stopped else "completed", None)

    # -- evaluate() and predict() outside fit: every call kept (naiad.training's rule 3) -------
    def on_test_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._fit is None:
            self._eval, self._eval_opened = self._outside_log()

    def on_test_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        # step-level evaluation values (naiad.training's rule 2): their own series, x = batches
        log = self._log if self._fit is not None else self._eval
        if log is None or not logs or not self.log_every_n_batches or self._broken:
            return
        log.metrics(logs, None, "val" if self._fit is not None else "test", step_level=True)

    def on_test_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._fit is not None:
            return  # fit's own validation: its val_* land at the epoch's end
        log, opened, self._eval = self._eval, self._eval_opened, None
        if log is not None and logs:
            log.metrics(dict(logs), self._step(), "test", evaluation=True)
        if opened and self._own:
            self.close()

    def on_predict_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self._predict_batches = 0

    def on_predict_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._predict_batches = getattr(self, "_predict_batches", 0) + 1

    def on_predict_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._fit is not None:
            return
        log, opened = self._outside_log()
        if log is not None:
            batches = {"batches": getattr(self, "_predict_batches", 0)}
            log.metrics(batches, self._step(), "predict", evaluation=True)
        if opened and self._own:
            self.close()

    def _outside_log(self) -> tuple[TrainingLog | None, bool]:
        """The log of an evaluate() or predict() outside fit, reopening the fit's run (or a
        new one); True when it opened the run, which the caller closes at the end."""
        if not _main_process():
            return None, False
        try:
            opened = False
            if self.run is None or self.run.closed:
                if not self._own and self.run is not None:
                    return None, False  # a closed run of the user's: nothing to log into
                kwargs: dict[str, Any] = {"on_error": "warn", **self._run_kwargs}
                if self._prev is not None:
                    run_id, _, project, store = self._prev
                    self.run = Run(run_id=run_id, project=project, store=store, **kwargs)
                else:
                    self.run, _ = self._open_run(0)
                    self._prev = (self.run.run_id, self._step(), self.run.project, self.run.store_location)
                opened = True
            log = TrainingLog(self.run, self.root, self.prefix)
            if opened and self._prev is not None and self._prev[1] == 0 and not self._ready:
                log.framework("keras", keras.__version__)
            return log, opened
        except Exception as e:  # a logging problem must never stop evaluate() or predict()
            _warn(f"could not open a run for evaluate()/predict(); not logged: {type(e).__name__}: {e}")
            return None, False

    # -- the run -------------------------------------------------------------------------------
    def _ensure_run(self, epoch: int) -> TrainingLog | None:
        """The fit's TrainingLog, creating (or forking) the run on first use; None when broken."""
        if self._broken:
            return None
        if self._ready and self._log is not None and self.run is not None and not self.run.closed:
            return self._log
        resume = None
        if self._own or self.run is None:
            try:
                self.run, resume = self._open_run(epoch)
            except Exception as e:  # a logging problem must never stop training
                self._broken = True
                _warn(f"could not create a run; this fit is not logged: {type(e).__name__}: {e}")
                return None
        run, log = self.run, TrainingLog(self.run, self.root, self.prefix)
        self._ready = True
        self._log = log
        _in_fit[run.run_id] = self
        self._log_setup(log)
        if resume is not None:
            log.resume(*resume)
        if self._backup:
            self._write_state(run)
        return log

    def _open_run(self, epoch: int) -> tuple[Run, tuple[str, int, float, str] | None]:
        kwargs: dict[str, Any] = {"on_error": "warn", **self._run_kwargs}
        where: dict[str, Any] = {
            "experiment_name": self.experiment_name,
            "project": self.project,
            "store": self.store,
        }
        step = self._step()
        parent, resume, state = None, None, self._backup_state()
        if self.fork_from is not None:
            parent, at = self.fork_from[0], int(self.fork_from[1])
            self.fork_from = None  # a later fit with this callback continues the child
            resume = ("", at, float(epoch), "fork_from")
            if where["experiment_name"] is None:
                with Run(run_id=parent, project=self.project, store=self.store, mode="read-only") as p:
                    where["experiment_name"] = p.experiment_name
        elif state is not None and step > 0:
            parent, at = state["run_id"], step
            resume = (
                os.path.join(self._backup or "", "latest.weights.h5"),
                at,
                float(epoch),
                "keras.callbacks.BackupAndRestore",
            )
            where = {
                "experiment_name": state.get("experiment") or self.experiment_name,
                "project": self.project or state.get("project"),
                "store": self.store or state.get("store"),
            }
        if parent is not None:
            earlier = _in_fit.get(parent)
            if earlier is not None and earlier is not self:  # that fit was interrupted in this process
                earlier._end_fit("failed", None)
            run_id = self.run_id if self.run_id != parent else None
            run, forked = fork_or_new(run_id, parent, at, **where, **kwargs)
            return run, resume if forked else None
        if self._prev is not None and step >= self._prev[1]:  # this callback's next fit: same run
            run_id, _, project, store = self._prev
            return Run(run_id=run_id, project=project, store=store, **kwargs), None
        run_id = self.run_id if self._prev is None else None
        return Run(run_id=run_id, **where, **kwargs), None

    def _log_setup(self, log: TrainingLog) -> None:
        model, opt = self.model, getattr(self.model, "optimizer", None)
        log.framework("keras", keras.__version__)
        params = {k: v for k, v in (self.params or {}).items() if v is not None}
        log.config(
            "trainer",
            {
                **params,
                "backend": keras.backend.backend(),
                "batch_metrics": "running_mean",
                "log_every_n_batches": self.log_every_n_batches,
            },
        )
        opt_config: dict[str, Any] = {}
        if opt is not None:
            try:
                opt_config = dict(opt.get_config())
            except Exception as e:
                _warn(f"could not read the optimizer config: {type(e).__name__}: {e}")
            log.config("optimizer", opt_config)
        log.hyperparams(
            self.hyperparams,
            promoted={
                "learning_rate": self._learning_rate(),
                "optimizer": None if opt is None else type(opt).__name__,
                "max_epochs": (self.params or {}).get("epochs"),
                "batch_size": self.batch_size,
                "weight_decay": opt_config.get("weight_decay"),
                "grad_accum_steps": opt_config.get("gradient_accumulation_steps"),
            },
        )
        try:
            lines: list[str] = []
            model.summary(print_fn=lambda text, *a, **k: lines.append(text))
            trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
            log.model(type(model).__name__, model.count_params(), trainable, "\n".join(lines))
        except Exception as e:  # an unbuilt or exotic model: skip what cannot be known
            _warn(f"could not describe the model: {type(e).__name__}: {e}")

    def _end_fit(self, status: str, exc: BaseException | None) -> None:
        self._fit = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        run, log = self.run, self._log
        if run is None or log is None or run.closed:
            return
        _in_fit.pop(run.run_id, None)
        step = self._step()
        self._prev = (run.run_id, step, run.project, run.store_location)
        log.summary(
            {
                "status": status,
                "runtime_s": time.monotonic() - self._t0,
                "epochs": self._epochs_done,
                "steps": step,
            }
        )
        if status == "failed":
            log.failed(exc)
        if on_writer_thread(run):
            return  # dropped during garbage collection on the writer's own thread: exit closes it
        if self._own:
            self.close()
        else:
            run.wait()

    def _fit_dropped(self, token: object) -> None:
        if self._fit is token:
            with contextlib.suppress(Exception):  # a finalizer has nowhere to report to
                self._end_fit("failed", None)

    # -- reading Keras' state ------------------------------------------------------------------
    def _callback_list(self) -> Any:
        """The CallbackList running this fit, found on the caller's stack (None if not found)."""
        frame: types.FrameType | None = sys._getframe(2)
        try:
            for _ in range(8):
                if frame is None:
                    return None
                for name in ("self", "callbacks"):
                    value = frame.f_locals.get(name)
                    if isinstance(value, keras.callbacks.CallbackList) and any(
                        cb is self for cb in value.callbacks
                    ):
                        return value
                frame = frame.f_back
            return None
        finally:
            del frame

    def _step(self) -> int:
        opt = getattr(self.model, "optimizer", None)
        try:
            return int(_number(opt.iterations))  # type: ignore[union-attr]
        except Exception:  # no Keras optimizer: count batches ourselves
            return self._counter

    def _learning_rate(self) -> float | None:
        try:
            return _number(self.model.optimizer.learning_rate)
        except Exception:
            return None

    def _fraction(self) -> float | None:
        steps = (self.params or {}).get("steps")
        if not steps or self._batch is None:
            return None
        return float(self._epoch + (self._batch + 1) / steps)

    def _backup_state(self) -> dict[str, Any] | None:
        """The parent recorded in the backup directory, when BackupAndRestore restored from it."""
        if not self._backup:
            return None
        path = os.path.join(self._backup, STATE_FILE)
        restored = any(
            os.path.exists(os.path.join(self._backup, f))
            for f in ("training_metadata.json", "latest.weights.h5")
        )
        if not restored or not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
            return state if isinstance(state, dict) and state.get("run_id") else None
        except (OSError, ValueError) as e:
            _warn(f"could not read {path}; not forking: {e}")
            return None

    def _write_state(self, run: Run) -> None:
        path = os.path.join(self._backup or "", STATE_FILE)
        try:
            os.makedirs(self._backup or ".", exist_ok=True)
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                json.dump(resume_state(run), f, sort_keys=True)
            os.replace(path + ".tmp", path)
        except OSError as e:
            _warn(f"could not write {path}; a resumed fit will not fork from this run: {e}")


class ModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``keras.callbacks.ModelCheckpoint`` that records every file it writes in the naiad run.

    Each saved file is appended to ``training/checkpoints/saved`` (at the optimizer step) and
    described in ``training/checkpoints/last/*`` (path, step, size, sha256, monitor, mode,
    score, epoch); a file whose ``monitor`` value is the best so far is described in
    ``training/checkpoints/by_monitor/<monitor>/*`` and, for the first ``ModelCheckpoint`` of
    the fit's callback list, in ``training/checkpoints/best/*``. The run is the one of the
    :class:`NaiadCallback` in the same fit (or ``naiad_callback=``). Which files' content is
    stored follows the callback's ``log_model`` policy (``False``, ``"last"``, ``"best"``,
    ``"all"``); ``upload=`` overrides it for this checkpoint.

    Example:
        >>> ckpt = ModelCheckpoint("ckpt/e{epoch:02d}.keras", monitor="val_loss")  # doctest: +SKIP
        >>> model.fit(x, y, validation_split=0.2, callbacks=[NaiadCallback(), ckpt])  # doctest: +SKIP
    """

    def __init__(
        self,
        filepath: Any,
        *args: Any,
        naiad_callback: NaiadCallback | None = None,
        upload: bool | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(filepath, *args, **kwargs)
        if not isinstance(upload, bool) and upload is not None:
            upload = log_model_policy(upload, "ModelCheckpoint")  # a bad value fails here
        self.naiad_callback, self.upload = naiad_callback, upload
        self._decided: bool | None = None
        self._naiad_best: float | None = None
        self._warned = False

    def _should_save_model(self, *args: Any, **kwargs: Any) -> Any:
        decided = super()._should_save_model(*args, **kwargs)
        self._decided = bool(decided)
        return decided

    def _save_model(self, epoch: int, batch: int | None, logs: Mapping[str, Any] | None) -> None:
        self._decided = None
        try:
            path = self._get_file_path(epoch, batch, logs or {})
            before = _stat(path)
        except Exception:  # Keras raises the same error just below
            path = before = None
        super()._save_model(epoch, batch, logs)
        # Keras versions without _should_save_model: a changed file is a written file
        written = self._decided if self._decided is not None else _stat(path) not in (None, before)
        if path is not None and written and os.path.isfile(path):
            try:
                self._record(path, epoch, dict(logs or {}))
            except Exception as e:  # a logging problem must never stop training
                _warn(f"could not record checkpoint {path}: {type(e).__name__}: {e}")

    def _record(self, path: str, epoch: int, logs: dict[str, Any]) -> None:
        ref = _by_model.get(self.model)
        cb = self.naiad_callback or (ref() if ref is not None else None)
        if cb is None:
            if not self._warned:
                self._warned = True
                _warn(
                    "ModelCheckpoint found no NaiadCallback in this fit; checkpoints are not "
                    "recorded (add one, or pass naiad_callback=)"
                )
            return
        log = cb._ensure_run(epoch)
        if log is None:
            return
        score = logs.get(self.monitor)
        score = None if isinstance(score, bool) or not isinstance(score, (int, float)) else float(score)
        if self.monitor_op is None and score is not None:
            with contextlib.suppress(ValueError):  # direction unknown: no best tracking
                self._set_monitor_op()
        best = (
            score is not None
            and self.monitor_op is not None
            and (self._naiad_best is None or bool(self._is_improvement(score, self._naiad_best)))
        )
        if best:
            self._naiad_best = score
        mode = (
            self.mode
            if self.mode != "auto" or self.monitor_op is None
            else ("min" if self.monitor_op is keras.ops.less else "max")
        )
        upload = cb.log_model if self.upload is None else self.upload
        if cb._primary is None:  # the fit's callback list was not found: the first to save
            cb._primary = self
        log.checkpoint(
            path,
            cb._step(),
            kind=("last", "best") if best and cb._primary is self else "last",
            upload=upload,
            extra={"monitor": self.monitor, "mode": mode, "score": score, "epoch": epoch + 1},
            monitor=self.monitor if best else None,  # one best per monitor, however many callbacks
        )


def _stat(path: str | None) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino
