"""What the framework integrations share: the standardized paths of SPEC §8, done once.

Every integration logs under one root (default ``training``)::

    training/framework/{name,version}      training/hyperparams/<flat>
    training/config/{trainer,optimizer,model,data}/<flat>
    training/model/{summary,class,num_params,num_trainable_params}
    training/train/<m>  training/train_epoch/<m>  training/val/<m>  training/test/<m>
    training/epoch      training/summary/<m>
    training/checkpoints/{last,best}/...   training/checkpoints/saved (series of paths)
    training/resume/{checkpoint,step,epoch,source}

:class:`TrainingLog` wraps a :class:`~naiad.Run` so that a logging problem never reaches the
training loop: it warns (``NaiadWarning``) and counts the drop in ``sys/diagnostics/dropped``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._run import Run
from ._types import unwrap_scalar
from .errors import NaiadWarning

DEFAULT_ROOT = "training"
PROMOTED = (
    "learning_rate",
    "batch_size",
    "max_epochs",
    "max_steps",
    "grad_accum_steps",
    "optimizer",
    "weight_decay",
    "seed",
)
_PHASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "eval": "val",
    "test": "test",
}
_LR = re.compile(r"^(lr|learning_rate)(?:[-_](?P<rest>.+))?$", re.IGNORECASE)
_BAD = re.compile(r"[^\w./-]+")


def metric_path(key: str, default_phase: str = "train") -> str:
    """A framework's metric key → its path under the root (``val_loss`` → ``val/loss``).

    ``<phase>_`` / ``<phase>/`` prefixes pick the phase (``eval`` is ``val``); a ``_step``
    suffix is dropped and an ``_epoch`` suffix moves a train metric to ``train_epoch``;
    learning-rate keys (``lr``, ``lr-Adam``, ``lr-Adam/pg2``) become ``train/learning_rate``
    (``learning_rate_pg2`` for further parameter groups; ``lr-Adam-momentum`` becomes
    ``train/momentum``, ``lr-Adam-weight_decay`` ``train/weight_decay``).

    Example:
        >>> metric_path("train_acc_step"), metric_path("lr-Adam"), metric_path("eval_loss")
        ('train/acc', 'train/learning_rate', 'val/loss')
    """
    phase, name = default_phase, key.strip().strip("/")
    head, sep, rest = _split_phase(name)
    if sep and head.lower() in _PHASES:
        phase, name = _PHASES[head.lower()], rest
    lr = _LR.match(name)
    if lr:
        rest, _, group = (lr.group("rest") or "").partition("/")
        kind = "learning_rate"
        for other in ("momentum", "weight_decay"):  # LearningRateMonitor(log_momentum=...)
            if rest.lower().endswith(other):
                kind = other
        return f"train/{kind}{'_' + _clean(group) if group else ''}"
    if name.endswith("_step"):
        name = name[: -len("_step")]
    elif name.endswith("_epoch"):
        name = name[: -len("_epoch")]
        if phase == "train":
            phase = "train_epoch"
    return f"{phase}/{_clean(name) or 'value'}"


def _split_phase(name: str) -> tuple[str, str, str]:
    for sep in ("/", "_", "-"):
        if sep in name:
            head, rest = name.split(sep, 1)
            if head.lower() in _PHASES and rest:
                return head, sep, rest
    return name, "", ""


def _clean(name: str) -> str:
    parts = (_BAD.sub("_", part).strip() for part in name.split("/"))
    return "/".join(s for s in parts if s not in ("", ".", ".."))


def flat_params(params: Mapping[str, Any] | Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested hyperparameters to ``a/b`` keys; values of unsupported types become str."""
    out: dict[str, Any] = {}
    items = params.items() if isinstance(params, Mapping) else vars(params).items()
    for key, value in items:
        path = f"{prefix}/{_clean(str(key))}" if prefix else _clean(str(key))
        if not path:
            continue
        value = unwrap_scalar(value)  # noqa: PLW2901 - the unwrapped scalar replaces it
        if isinstance(value, Mapping) and value:
            out.update(flat_params(value, path))
        elif value is None or (isinstance(value, (list, tuple, dict)) and not value):
            out[path] = str(value)
        elif isinstance(value, (bool, int, float, str)):
            out[path] = value
        else:
            out[path] = str(value)
    return out


def file_digest(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class TrainingLog:
    """A run plus the root path, with writes that never raise into training.

    Example:
        >>> log = TrainingLog(run)  # doctest: +SKIP
        >>> log.metrics({"val_loss": 0.3}, step=120)  # → training/val/loss at step 120
    """

    def __init__(self, run: Run, root: str = DEFAULT_ROOT) -> None:
        self.run = run
        self.root = root.strip("/")
        # framework key → (normalized path, original-key path): computed once per key
        self._paths: dict[tuple[str, str], tuple[str, str]] = {}

    def path(self, sub: str) -> str:
        return f"{self.root}/{sub}" if self.root else sub

    def _guard(self, what: str | Mapping[str, Any], fn: Any, *args: Any, **kwargs: Any) -> None:
        """Call ``fn``; on any error warn (naming ``what``, a path or the keys of a dict)."""
        try:
            fn(*args, **kwargs)
        except Exception as e:  # a logging problem must never stop training
            writer = self.run._writer
            if writer is not None:
                writer.dropped += 1
            name = what if isinstance(what, str) else ", ".join(what)
            warnings.warn(f"naiad: could not log {name}: {type(e).__name__}: {e}", NaiadWarning, stacklevel=3)

    def framework(self, name: str, version: str) -> None:
        self.configs({"framework/name": name, "framework/version": version})

    def configs(self, values: Mapping[str, Any]) -> None:
        """Assign atoms under the root; one bad value does not stop the others."""
        for key, value in values.items():
            self._guard(key, self.run.log_configs, {self.path(key): value}, cast_unsupported=True)

    def hyperparams(self, params: Mapping[str, Any], promoted: Mapping[str, Any] | None = None) -> None:
        """User hyperparameters (flattened) plus the promoted keys that are knowable."""
        flat = {f"hyperparams/{k}": v for k, v in flat_params(params).items()}
        for key, value in (promoted or {}).items():
            if value is not None:
                flat[f"hyperparams/{key}"] = value
        self.configs(flat)

    def config(self, section: str, values: Mapping[str, Any] | Any) -> None:
        self.configs({f"config/{section}/{k}": v for k, v in flat_params(values).items()})

    def model(
        self, model_class: str, num_params: int, num_trainable: int, summary: str | None = None
    ) -> None:
        values: dict[str, Any] = {
            "model/class": model_class,
            "model/num_params": int(num_params),
            "model/num_trainable_params": int(num_trainable),
        }
        if summary:
            values["model/summary"] = summary[:60_000]
        self.configs(values)

    def metrics(
        self,
        values: Mapping[str, Any],
        step: int | float,
        default_phase: str = "train",
        keep_original: bool = False,
    ) -> None:
        """Log framework metrics at ``step`` under normalized paths (non-numbers are skipped)."""
        data: dict[str, float] = {}
        paths = self._paths
        for key, raw in values.items():
            value = raw if type(raw) is float else unwrap_scalar(raw)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            known = paths.get((key, default_phase))
            if known is None:
                known = (self.path(metric_path(key, default_phase)), self.path(f"metrics/{_clean(key)}"))
                paths[(key, default_phase)] = known
            data[known[0]] = float(value)
            if keep_original:
                data[known[1]] = float(value)
        if data:
            self._guard(values, self._log_metrics, data, step)

    def _log_metrics(self, data: dict[str, float], step: int | float) -> None:
        # series are independent: a point one series already has must not drop the others
        try:
            self.run.log_metrics(data, step=step)
        except Exception:
            for key, value in data.items():
                self._guard(key, self.run.log_metrics, {key: value}, step=step)

    def series(self, values: Mapping[str, Any], step: int | float) -> None:
        """Log numbers at sub-paths of the root as given (``epoch``), without renaming keys."""
        data = {
            self.path(k): float(v)
            for k, v in ((k, unwrap_scalar(v)) for k, v in values.items())
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        if data:
            self._guard(values, self._log_metrics, data, step)

    def summary(self, values: Mapping[str, Any]) -> None:
        self.configs(
            {
                f"summary/{_clean(k)}": unwrap_scalar(v)
                for k, v in values.items()
                if isinstance(unwrap_scalar(v), (int, float, str, bool))
            }
        )

    def checkpoint(
        self,
        path: str | os.PathLike[str],
        step: int,
        *,
        kind: str | tuple[str, ...] | None = None,
        upload: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a checkpoint file: ``checkpoints/saved`` (series), and ``last``/``best``.

        ``kind`` is ``"last"``, ``"best"``, both as a tuple, or None (only ``saved``). The file's
        path, size and sha256 are recorded; its content is uploaded only with ``upload``.
        """
        p = Path(path)
        info: dict[str, Any] = {"path": str(p.resolve()), "step": int(step)}
        if p.is_file():
            info["size"] = p.stat().st_size
            info["sha256"] = file_digest(p)
        info.update({k: v for k, v in (extra or {}).items() if v is not None})
        self._guard("checkpoints/saved", self._saved, str(p.resolve()), step)
        kinds = [kind] if isinstance(kind, str) else list(kind or ())
        for k in kinds:
            self.configs({f"checkpoints/{k}/{key}": value for key, value in info.items()})
            if upload and p.is_file():
                self._guard(
                    f"checkpoints/{k}/file",
                    self.run.assign_files,
                    {self.path(f"checkpoints/{k}/file"): str(p)},
                )

    def _saved(self, text: str, step: int) -> None:
        handle = self.run[self.path("checkpoints/saved")]
        own = self.run._f.last.get(self.path("checkpoints/saved"))
        fixed = step * 1_000_000
        if own is not None and own[0] >= fixed:
            # several files saved at one step (top-k and last.ckpt): 0.001 apart, so that
            # the whole part of each step is still the step the file was saved at
            fixed = own[0] + 1_000
        handle.append(text, step=fixed / 1_000_000)

    def resume(self, checkpoint: str, step: int, epoch: float | None, source: str) -> None:
        self.configs(
            {
                "resume/checkpoint": str(checkpoint),
                "resume/step": int(step),
                "resume/source": source,
                **({"resume/epoch": epoch} if epoch is not None else {}),
            }
        )

    def failed(self, exc: BaseException | None = None) -> None:
        self._guard("sys/failed", self.run._mark_failed, exc)


def fork_or_new(run_id: str | None, parent: str, step: int, **kwargs: Any) -> tuple[Run, bool]:
    """A run forked from ``parent`` at ``step``, or, when that fails, a new run with the same
    arguments and a warning (a resume must never stop training). True when it forked."""
    try:
        return Run(run_id=run_id, fork_run_id=parent, fork_step=step, **kwargs), True
    except Exception as e:
        warnings.warn(
            f"naiad: could not fork run '{parent}' at step {step} ({type(e).__name__}: {e}); "
            "logging to a new run",
            NaiadWarning,
            stacklevel=3,
        )
        return Run(run_id=run_id, **kwargs), False


STATE_KEY = "naiad"


def resume_state(run: Run) -> dict[str, Any]:
    """What an integration stores inside the framework's checkpoint to fork on resume."""
    return {
        "run_id": run.run_id,
        "project": run.project,
        "experiment": run.experiment_name,
        "store": str(run.store_location) if run.store_location else None,
    }


def dumps_state(state: Mapping[str, Any]) -> str:
    return json.dumps(dict(state), sort_keys=True)
