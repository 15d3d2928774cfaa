"""What the framework integrations share: the standardized paths of SPEC §8, done once.

``naiad.training`` is public: it is the one home of the schema below, of the evaluation rule,
and of the fork-or-new-run logic the three integrations (and your own) use.

**The standardized schema** (root ``training/`` by default, ``<prefix>/`` after it when an
integration is given ``prefix=``). Every path an integration writes::

    training/framework/{name,version}                    String
    training/hyperparams/<flat>                          atoms; promoted: learning_rate,
                                                         batch_size, max_epochs, max_steps,
                                                         grad_accum_steps, optimizer,
                                                         weight_decay, seed
    training/hyperparams_unset                           StringSet: hyperparameters that were None
    training/config/{trainer,optimizer,model,data}/<flat>
    training/model/{summary,class,num_params,num_trainable_params}
    training/train/<m>            x = optimizer step     loss, learning_rate, momentum, grad_norm, ...
    training/train/learning_rate_<group>                 parameter groups after the first
                                                         (``momentum_<group>``, ``weight_decay_<group>``)
    training/train_epoch/<m>      x = optimizer step     epoch aggregates
    training/epoch                x = optimizer step     fractional epochs completed
    training/val/<m>              x = optimizer step     in-fit validation (HF ``eval_*``)
    training/test/<m>             x = optimizer step     test / evaluate results
    training/predict/batches      x = optimizer step     one point per predict() call (Keras)
    training/<phase>_step/<m>     x = evaluation batch   step-level evaluation values
    training/<phase>/<m>/<i>                             element ``i`` of a non-scalar value
    training/summary/<m>                                 single values at the end
    training/status                                      finished / stopped / failed (HF)
    training/fits/<k>/step_offset                        a k-th fit with the same logger (k >= 2)
    training/checkpoints/saved    x = optimizer step     every checkpoint written (String series)
    training/checkpoints/{last,best}/{path,step,size,sha256,score,monitor,mode,epoch,num_files}
    training/checkpoints/best/{metric,metric_name,greater_is_better}     (transformers)
    training/checkpoints/by_monitor/<monitor>/{path,step,score,mode,...}
    training/checkpoints/{last,best}/file                uploaded content (log_model)
    training/checkpoints/{last,best}/files/<name>        an uploaded checkpoint directory (HF)
    training/checkpoints/files    x = optimizer step     every uploaded file (log_model="all")
    training/resume/{checkpoint,step,epoch,source}
    training/images/<key>         FileSeries (PNG)       log_image
    training/tables/<key>         FileSeries (CSV)       log_table
    training/text/<key>           StringSeries           log_text

**Values.** Numbers (and bools, as 0/1) are float series; strings are string series at the same
x; a list, tuple, array or tensor becomes one float series per element (``<m>/<i>``, e.g.
per-class F1) and a dict one per key; anything else is stored as its ``str``. Nothing a
framework reports is dropped without a warning counted in ``sys/diagnostics/dropped``.

**The evaluation rule** (one for all three frameworks; the core's strict step order stays):

1. *In-fit validation* → ``training/val/<m>`` at the optimizer step it ran at.
2. *Step-level evaluation values* (a value per evaluation batch, Lightning's ``on_step=True``
   in ``validation_step``/``test_step``, Keras' ``on_test_batch_end`` logs) → their own series
   ``training/<phase>_step/<m>``, x = evaluation batches of that phase logged so far in the
   run (1, 2, ...; a reopened or forked run counts on from its last point), so they never
   collide with the epoch value in ``training/<phase>/<m>``.
3. *Evaluations after or outside fit* (Lightning ``validate``/``test``, HF ``evaluate``/
   ``predict``, Keras ``evaluate``/``predict``) → ``training/<phase>/<m>`` at the optimizer
   step. Every call is kept: a call at a step its series already has lands
   :data:`REPEAT` (0.001) after the latest point of that step (24, 24.001, 24.002, ...), so the
   whole part of x is still the optimizer step and each repeated call is a new, visible point.

:class:`TrainingLog` wraps a :class:`~naiad.Run` so that a logging problem never reaches the
training loop: it warns (``NaiadWarning``) and counts the drop in ``sys/diagnostics/dropped``.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import os
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import _sys
from ._files import File
from ._run import Run
from ._settings import _ENV, Settings, file_settings, resolve
from ._storage._blobs import sha256_of
from ._types import MAX_STRING_BYTES, STEP_SCALE, unwrap_scalar
from .errors import ConfigError, NaiadWarning

__all__ = [
    "DEFAULT_ROOT",
    "EVAL_PHASES",
    "PROMOTED",
    "REPEAT",
    "TrainingLog",
    "check_run_kwargs",
    "configured",
    "count_drop",
    "dumps_state",
    "file_digest",
    "flat_params",
    "fork_or_new",
    "last_step",
    "log_model_policy",
    "metric_path",
    "on_writer_thread",
    "png_bytes",
    "resolve_settings",
    "resume_state",
    "truncate_utf8",
    "unwrap_scalar",
]

DEFAULT_ROOT = "training"
REPEAT = 0.001  # x offset of a repeated evaluation (or checkpoint, or media) at one step
EVAL_PHASES = frozenset({"val", "test", "predict"})
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
    "predict": "predict",
}
_LR = re.compile(r"^(lr|learning_rate)(?:[-_](?P<rest>.+))?$", re.IGNORECASE)
_BAD = re.compile(r"[^\w./-]+")
_MAX_ELEMENTS = 1024  # a non-scalar value with more elements is stored as its str


def metric_path(key: str, default_phase: str = "train") -> str:
    """A framework's metric key → its path under the root (``val_loss`` → ``val/loss``).

    ``<phase>_`` / ``<phase>/`` prefixes pick the phase (``eval`` is ``val``). A ``_step``
    suffix is dropped from a train metric and moves an evaluation metric to its step-level
    series (``val_loss_step`` → ``val_step/loss``); an ``_epoch`` suffix moves a train metric
    to ``train_epoch`` and is dropped from an evaluation metric (``val_loss_epoch`` →
    ``val/loss``). Learning-rate keys (``lr``, ``lr-Adam``, ``lr-Adam/pg1``) become
    ``train/learning_rate``; further parameter groups ``train/learning_rate_pg2``;
    ``lr-Adam-momentum`` / ``lr-Adam/pg2-momentum`` become ``train/momentum`` /
    ``train/momentum_pg2`` (``weight_decay`` alike).

    Example:
        >>> metric_path("train_acc_step"), metric_path("lr-Adam/pg2"), metric_path("eval_loss")
        ('train/acc', 'train/learning_rate_pg2', 'val/loss')
        >>> metric_path("val_loss_step"), metric_path("lr-SGD/pg1-momentum")
        ('val_step/loss', 'train/momentum')
    """
    phase, name = default_phase, key.strip().strip("/")
    head, sep, rest = _split_phase(name)
    if sep and head.lower() in _PHASES:
        phase, name = _PHASES[head.lower()], rest
    lr = _LR.match(name)
    if lr:
        return f"train/{_lr_name(lr.group('rest') or '')}"
    if name.endswith("_step"):
        name = name[: -len("_step")]
        if phase in EVAL_PHASES:
            phase = f"{phase}_step"
    elif name.endswith("_epoch"):
        name = name[: -len("_epoch")]
        if phase == "train":
            phase = "train_epoch"
    return f"{phase}/{_clean(name) or 'value'}"


def _lr_name(rest: str) -> str:
    """``SGD``, ``SGD-momentum``, ``SGD/pg2``, ``SGD/pg2-momentum`` → the series' name."""
    optimizer, _, group = rest.partition("/")
    kind = "learning_rate"
    for other in ("momentum", "weight_decay"):  # LearningRateMonitor(log_momentum/log_weight_decay)
        for part in (optimizer, group):
            if part.lower().endswith(other):
                kind = other
                if part is group:
                    group = group[: -len(other)].rstrip("-_")
    if group.lower() in ("", "pg1", "pg0"):  # the first parameter group is the standard path
        return kind
    return f"{kind}_{_clean(group).replace('/', '_')}"


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
    """Flatten nested hyperparameters to ``a/b`` keys; values of unsupported types become str.

    ``None`` stays ``None`` (a field cannot hold "no value"; :meth:`TrainingLog.configs` lists
    such keys instead of storing the string ``'None'``).
    """
    out: dict[str, Any] = {}
    items = params.items() if isinstance(params, Mapping) else vars(params).items()
    for key, value in items:
        path = f"{prefix}/{_clean(str(key))}" if prefix else _clean(str(key))
        if not path:
            continue
        value = unwrap_scalar(value)  # noqa: PLW2901 - the unwrapped scalar replaces it
        if isinstance(value, Mapping) and value:
            out.update(flat_params(value, path))
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[path] = value
        else:
            out[path] = str(value)
    return out


def file_digest(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file (a checkpoint's ``sha256``)."""
    return sha256_of(Path(path))


def truncate_utf8(text: str, limit: int = MAX_STRING_BYTES) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8 (the String limit), marked when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    mark = "\n... (truncated)"
    return data[: limit - len(mark.encode())].decode("utf-8", errors="ignore") + mark


def _elements(value: Any) -> list[Any] | None:
    """The elements of a list, tuple, array or tensor, flattened; None if ``value`` is none."""
    if isinstance(value, (list, tuple)):
        items: list[Any] = list(value)
    elif hasattr(value, "tolist") and hasattr(value, "shape"):
        try:
            listed = value.tolist()
        except Exception:
            return None
        items = listed if isinstance(listed, list) else [listed]
    else:
        return None
    flat: list[Any] = []
    while items:
        head = items.pop(0)
        if isinstance(head, (list, tuple)):
            items[:0] = list(head)
        else:
            flat.append(head)
        if len(flat) > _MAX_ELEMENTS:
            return None
    return flat


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def _values(path: str, raw: Any, floats: dict[str, float], strings: dict[str, str]) -> None:
    """Sort one reported value into float and string series (SPEC §8: nothing dropped)."""
    value = unwrap_scalar(raw)
    number = _number(value)
    if number is not None:
        floats[path] = number
    elif isinstance(value, str):
        strings[path] = truncate_utf8(value)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _values(f"{path}/{_clean(str(k)) or 'value'}", v, floats, strings)
    elif value is None:
        strings[path] = "None"
    else:
        elements = _elements(value)
        if elements is not None and all(_number(unwrap_scalar(e)) is not None for e in elements):
            for i, e in enumerate(elements):
                floats[f"{path}/{i}"] = _number(unwrap_scalar(e))  # type: ignore[assignment]
        else:
            strings[path] = truncate_utf8(str(value))


def last_step(run: Run, path: str) -> float | None:
    """The step of the last point of series ``path`` in ``run``, its own or, in a forked run
    that has none yet, the last one it inherits (None when it has none)."""
    run._materialize(path)
    own, inherited = run._f.series_position(path)
    point = own if own is not None else inherited
    return None if point is None else point[0] / STEP_SCALE


def count_drop(run: Run) -> None:
    """Count one dropped write in ``sys/diagnostics/dropped`` (the integration caught it)."""
    writer = run._writer
    if writer is not None:
        writer.dropped += 1


def on_writer_thread(run: Run) -> bool:
    """Whether the calling thread is the run's background writer (e.g. in a GC finalizer)."""
    writer = run._writer
    return getattr(writer, "_thread", None) is threading.current_thread()


class TrainingLog:
    """A run plus the root path, with writes that never raise into training.

    Example:
        >>> log = TrainingLog(run)  # doctest: +SKIP
        >>> log.metrics({"val_loss": 0.3}, step=120)  # → training/val/loss at step 120
    """

    def __init__(self, run: Run, root: str = DEFAULT_ROOT, prefix: str = "") -> None:
        self.run = run
        self.root = root.strip("/")
        self.prefix = _clean(prefix)
        # framework key → normalized path: computed once per key
        self._paths: dict[tuple[str, str, bool], str] = {}
        self._eval_batches: dict[str, int] = {}  # step-level evaluation x, per phase

    def path(self, sub: str) -> str:
        return f"{self.root}/{sub}" if self.root else sub

    def metric(self, sub: str) -> str:
        """The path of a metric: root, then the prefix, then ``sub``."""
        return self.path(f"{self.prefix}/{sub}" if self.prefix else sub)

    def _guard(self, what: str | Mapping[str, Any], fn: Any, *args: Any, **kwargs: Any) -> None:
        """Call ``fn``; on any error warn (naming ``what``, a path or the keys of a dict)."""
        try:
            fn(*args, **kwargs)
        except Exception as e:  # a logging problem must never stop training
            count_drop(self.run)
            name = what if isinstance(what, str) else ", ".join(map(str, what))
            warnings.warn(f"naiad: could not log {name}: {type(e).__name__}: {e}", NaiadWarning, stacklevel=3)

    def framework(self, name: str, version: str) -> None:
        self.configs({"framework/name": name, "framework/version": version})

    def configs(self, values: Mapping[str, Any]) -> None:
        """Assign atoms under the root; one bad value does not stop the others.

        ``None`` values are not stored as the string ``'None'``: their keys go to
        ``<section>_unset`` (a StringSet next to the section, e.g. ``hyperparams_unset``).
        """
        unset: dict[str, set[str]] = {}
        for key, value in values.items():
            if value is None:
                section, _, name = key.partition("/")
                unset.setdefault(f"{section}_unset", set()).add(name or section)
                continue
            if isinstance(value, str):
                value = truncate_utf8(value)  # noqa: PLW2901 - the stored form replaces it
            self._guard(key, self.run.log_configs, {self.path(key): value}, cast_unsupported=True)
        for key, names in unset.items():
            self._guard(key, self.run[self.path(key)].add, sorted(names))

    def hyperparams(self, params: Mapping[str, Any], promoted: Mapping[str, Any] | None = None) -> None:
        """User hyperparameters (flattened) plus the promoted keys that are knowable."""
        flat = {f"hyperparams/{k}": v for k, v in flat_params(params).items()}
        for key, value in (promoted or {}).items():
            if value is not None:
                flat[f"hyperparams/{key}"] = value
        self.configs(flat)

    def config(self, section: str, values: Mapping[str, Any] | Any) -> None:
        self.configs({f"config/{section}/{k}": v for k, v in flat_params(values).items() if v is not None})

    def model(
        self, model_class: str, num_params: int, num_trainable: int, summary: str | None = None
    ) -> None:
        values: dict[str, Any] = {
            "model/class": model_class,
            "model/num_params": int(num_params),
            "model/num_trainable_params": int(num_trainable),
        }
        if summary:
            values["model/summary"] = truncate_utf8(summary)
        self.configs(values)

    def metrics(
        self,
        values: Mapping[str, Any],
        step: int | float | None,
        default_phase: str = "train",
        *,
        evaluation: bool = False,
        step_level: bool = False,
    ) -> float | None:
        """Log framework metrics at ``step`` under normalized paths; returns the x used.

        ``evaluation``: results of an evaluation (rule 3 of the module docstring: a repeated
        call at one step moves 0.001 on). ``step_level``: one evaluation batch's values (rule
        2: ``<phase>_step/<m>`` at this phase's evaluation-batch count). ``step=None``: each
        series' last step + 1.
        """
        floats: dict[str, float] = {}
        strings: dict[str, str] = {}
        paths = self._paths
        for key, raw in values.items():
            known = paths.get((key, default_phase, step_level))
            if known is None:
                sub = metric_path(key, default_phase)
                if step_level:
                    phase, _, name = sub.partition("/")
                    if phase in EVAL_PHASES:
                        sub = f"{phase}_step/{name}"
                known = paths[(key, default_phase, step_level)] = self.metric(sub)
            if type(raw) is float:
                floats[known] = raw
            else:
                _values(known, raw, floats, strings)
        if step_level:
            phase = default_phase if default_phase in EVAL_PHASES else "val"
            done = self._eval_batches.get(phase)
            if done is None:  # a reopened run (a later evaluate()) counts on from its series
                lasts = (last_step(self.run, p) for p in (*floats, *strings))
                done = int(max((x for x in lasts if x is not None), default=0))
            step = self._eval_batches[phase] = done + 1
        elif evaluation and step is not None:
            step = self.repeat_x([*floats, *strings], step)
        if floats:
            self._guard(values, self._log_metrics, floats, step)
        if strings:
            self._guard(values, self._log_strings, strings, step)
        return step

    def repeat_x(self, paths: Iterable[str], step: int | float) -> float:
        """``step``, or 0.001 after the latest point at ``step`` of any of ``paths``."""
        x = float(step)
        for path in paths:
            last = last_step(self.run, path)
            if last is not None and step <= last < step + 1:
                x = max(x, round(last + REPEAT, 6))
        return int(x) if x == int(x) else x

    def _log_metrics(self, data: dict[str, float], step: int | float | None) -> None:
        # series are independent: a point one series already has must not drop the others
        try:
            self.run.log_metrics(data, step=step)
        except Exception:
            for key, value in data.items():
                self._guard(key, self.run.log_metrics, {key: value}, step=step)

    def _log_strings(self, data: dict[str, str], step: int | float | None) -> None:
        for key, value in data.items():
            self._guard(key, self.run.log_string_series, {key: value}, step=step)

    def series(self, values: Mapping[str, Any], step: int | float) -> None:
        """Log values at sub-paths of the root as given (``epoch``), without renaming keys."""
        floats: dict[str, float] = {}
        strings: dict[str, str] = {}
        for k, v in values.items():
            _values(self.path(k), v, floats, strings)
        if floats:
            self._guard(values, self._log_metrics, floats, step)
        if strings:
            self._guard(values, self._log_strings, strings, step)

    def summary(self, values: Mapping[str, Any]) -> None:
        out: dict[str, Any] = {}
        for k, v in values.items():
            value = unwrap_scalar(v)
            out[f"summary/{_clean(k)}"] = (
                value if value is None or isinstance(value, (int, float, str, bool)) else str(value)
            )
        self.configs(out)

    def checkpoint(
        self,
        path: str | os.PathLike[str],
        step: int,
        *,
        kind: str | tuple[str, ...] | None = None,
        upload: bool | str = False,
        extra: Mapping[str, Any] | None = None,
        monitor: str | None = None,
    ) -> None:
        """Record a checkpoint file: ``checkpoints/saved`` (series), and ``last``/``best``.

        ``kind`` is ``"last"``, ``"best"``, both as a tuple, or None (only ``saved``). The file's
        path, size and sha256 are recorded; its content is uploaded per ``upload`` (the
        ``log_model`` policy: False, ``"last"``, ``"best"``, ``"all"``; True means last and best).
        ``monitor``: the file is the best for that monitor, described in
        ``checkpoints/by_monitor/<monitor>``.
        """
        p = Path(path)
        info: dict[str, Any] = {"path": str(p.resolve()), "step": int(step)}
        if p.is_file():
            info["size"] = p.stat().st_size
            info["sha256"] = file_digest(p)
        info.update({k: v for k, v in (extra or {}).items() if v is not None})
        x = self.repeat_x([self.path("checkpoints/saved")], step)
        self._guard(
            "checkpoints/saved",
            self.run.log_string_series,
            {self.path("checkpoints/saved"): info["path"]},
            step=x,
        )
        kinds = [kind] if isinstance(kind, str) else list(kind or ())
        if monitor:
            self.configs({f"checkpoints/by_monitor/{_clean(monitor)}/{k}": v for k, v in info.items()})
        policy = {True: ("last", "best"), False: (), "last": ("last",), "best": ("best",)}
        wanted = ("last", "best", "all") if upload == "all" else policy.get(upload, ())
        for k in kinds:
            self.configs({f"checkpoints/{k}/{key}": value for key, value in info.items()})
            if k in wanted and p.is_file():
                self._guard(
                    f"checkpoints/{k}/file",
                    self.run.assign_files,
                    {self.path(f"checkpoints/{k}/file"): str(p)},
                )
        if upload == "all" and p.is_file():
            self._guard(
                "checkpoints/files", self.run.log_files, {self.path("checkpoints/files"): str(p)}, step=x
            )

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
        self._guard(_sys.FAILED, self.run.mark_failed, exc)

    # -- media ------------------------------------------------------------------------------------
    def image(self, key: str, image: Any, step: int | float) -> None:
        """Append an image (a path, PNG/JPEG bytes, a PIL image, an HxW[xC] or CxHxW array or
        tensor) to ``images/<key>`` as a File the UI previews."""
        path = self.path(f"images/{_clean(key) or 'image'}")
        self._guard(path, self._append_file, path, lambda: _image_file(image, key), step)

    def table(self, key: str, table: Any, step: int | float, columns: list[str] | None = None) -> None:
        """Append a table (a pandas DataFrame, a list of dicts, or rows with ``columns``) to
        ``tables/<key>`` as a CSV File."""
        path = self.path(f"tables/{_clean(key) or 'table'}")
        self._guard(path, self._append_file, path, lambda: _table_file(table, key, columns), step)

    def text(self, key: str, text: str, step: int | float) -> None:
        """Append ``text`` to the string series ``text/<key>``."""
        path = self.path(f"text/{_clean(key) or 'text'}")
        x = self.repeat_x([path], step)
        self._guard(path, self.run.log_string_series, {path: truncate_utf8(str(text))}, step=x)

    def _append_file(self, path: str, make: Any, step: int | float) -> None:
        file = make()
        self.run.log_files({path: file}, step=self.repeat_x([path], step))


def _image_file(image: Any, key: str) -> File:
    name = (_clean(key) or "image").replace("/", "_")
    if isinstance(image, File):
        return image
    if isinstance(image, (str, os.PathLike)):
        return File(os.fspath(image))
    if isinstance(image, (bytes, bytearray)):
        jpeg = bytes(image[:3]) == b"\xff\xd8\xff"
        return File(bytes(image), name=f"{name}.jpg" if jpeg else f"{name}.png")
    if hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return File(buf.getvalue(), name=f"{name}.png", mime="image/png")
    return File(png_bytes(image), name=f"{name}.png", mime="image/png")


def png_bytes(array: Any) -> bytes:
    """An image array (HxW, HxWxC or CxHxW; uint8, or floats in [0, 1]) as PNG bytes.

    Example:
        >>> png_bytes([[0, 255], [255, 0]])[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """
    rows = (
        array.detach().cpu().numpy().tolist()
        if hasattr(array, "detach")
        else (array.tolist() if hasattr(array, "tolist") else array)
    )
    rows = [list(r) for r in rows]
    if (
        rows
        and rows[0]
        and isinstance(rows[0][0], list)
        and len(rows) in (1, 3, 4)
        and len(rows[0][0]) not in (1, 3, 4)
    ):
        rows = [
            [[rows[c][y][x] for c in range(len(rows))] for x in range(len(rows[0][0]))]
            for y in range(len(rows[0]))
        ]  # CxHxW → HxWxC
    pixels = [[px if isinstance(px, list) else [px] for px in row] for row in rows]
    channels = len(pixels[0][0]) if pixels and pixels[0] else 1
    if channels not in (1, 3, 4) or any(len(px) != channels for row in pixels for px in row):
        raise ValueError(f"an image needs 1, 3 or 4 channels per pixel; got {channels}")
    flat = [v for row in pixels for px in row for v in px]
    scale = 255.0 if flat and all(isinstance(v, float) for v in flat) and max(flat) <= 1.0 else 1.0
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(
        b"\x00" + bytes(max(0, min(255, round(v * scale))) for px in row for v in px) for row in pixels
    )
    color = {1: 0, 3: 2, 4: 6}[channels]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _table_file(table: Any, key: str, columns: list[str] | None) -> File:
    name = (_clean(key) or "table").replace("/", "_") + ".csv"
    if hasattr(table, "to_csv"):  # pandas
        return File(table.to_csv(index=False).encode(), name=name, mime="text/csv")
    rows = list(table)
    buf = io.StringIO()
    if rows and isinstance(rows[0], Mapping):
        header = columns or list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(buf, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    else:
        writer2 = csv.writer(buf)
        if columns:
            writer2.writerow(columns)
        writer2.writerows(rows)
    return File(buf.getvalue().encode(), name=name, mime="text/csv")


# -- the checkpoint upload policy ------------------------------------------------------------------
_LOG_MODEL = (False, "last", "best", "all")


def log_model_policy(
    log_model: bool | str | None, owner: str, *, every_file: bool = True
) -> bool | str | None:
    """``log_model=`` checked and normalized, the same for every integration.

    ``False`` (only paths, sizes and digests are recorded), ``"last"``, ``"best"``, ``"all"``
    (every file written, as ``checkpoints/files``). ``True`` means ``"all"`` where an
    integration writes single files (``every_file``), else last and best (``True``, the form
    :meth:`TrainingLog.checkpoint` takes). ``None`` (not given) stays ``None``: the caller falls
    back to ``log_checkpoints`` / ``NAIAD_LOG_CHECKPOINTS``. A bad value raises
    :class:`ValueError` at construction, before training starts.

    Example:
        >>> log_model_policy(True, "NaiadLogger"), log_model_policy("best", "NaiadCallback")
        ('all', 'best')
    """
    if log_model is None:
        return None
    if log_model is True:
        return "all" if every_file else True
    if log_model == "all" and not every_file:
        raise ValueError(
            f"{owner}(log_model='all') uploads every checkpoint file, but this framework's "
            "checkpoint is a directory: use True (last and best), 'last', 'best' or False."
        )
    if isinstance(log_model, bool) or log_model in _LOG_MODEL:
        return log_model
    raise ValueError(
        f"{owner}(log_model={log_model!r}): log_model must be False, 'last', 'best' or 'all' "
        "(True: every file); fix the argument."
    )


# -- settings and arguments ---------------------------------------------------------------------
def resolve_settings(values: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings as a :class:`naiad.Run` resolves them (argument > ``NAIAD_*`` > file > default);
    a bad value raises here, at construction, before training starts."""
    return resolve(dict(values), environ)


def configured(key: str, value: Any = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether setting ``key`` comes from an argument (``value``), a ``NAIAD_*`` variable or
    ``[tool.naiad]`` — i.e. the user chose it, so a default (a parent's, a framework's) must
    not replace it."""
    env = os.environ if environ is None else environ
    if value is not None or env.get(_ENV.get(key, ""), ""):
        return True
    return key in file_settings(Path.cwd())


_RUN_ARGS = frozenset(inspect.signature(Run.__init__).parameters) - {"self", "_environ"}


def check_run_kwargs(kwargs: Mapping[str, Any], owner: str, own: Iterable[str] = ()) -> None:
    """Raise :class:`~naiad.errors.ConfigError` for an argument neither ``owner`` nor
    :class:`naiad.Run` takes: a typo must fail at construction, not turn logging off."""
    unknown = sorted(set(kwargs) - _RUN_ARGS - set(own))
    if unknown:
        import difflib

        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(_RUN_ARGS | set(own)), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(
            f"{owner} got unexpected argument(s) {', '.join(hints)}. It takes its own arguments "
            f"and naiad.Run's ({', '.join(sorted(_RUN_ARGS))}); fix the name.",
            unknown,
        )


# -- fork on resume -------------------------------------------------------------------------------
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
