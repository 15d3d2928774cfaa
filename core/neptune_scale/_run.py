"""``neptune_scale.Run`` over :class:`naiad.Run`: the same constructor, the same methods.

A thin mapping: every write goes to one :class:`naiad.Run` (strict core, ``on_error="raise"``).
Where neptune-scale behaved differently, the difference lives here:

* values neptune-scale's client refused are dropped with a logged warning ("Dropping
  value. ..."), the rest of the call is stored (:mod:`naiad.neptune_scale._convert`);
* what its server refused later (a step that goes back, a type change, a read-only path)
  is dropped per field and handed to ``on_error_callback(exc, last_seen_at)`` as the
  ``neptune_scale.exceptions`` class, or logged as an error when no callback is given: the
  whole call is tried first, and only a rejected call is retried field by field;
* after ``close()`` / ``terminate()`` logging calls are ignored, not errors.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from .. import NaiadError
from .. import Run as NaiadRun
from . import _convert
from ._convert import check_dict, check_step
from .exceptions import NeptuneUnableToLogData
from .util import envs
from .util.logger import get_logger

__all__ = ["Run", "SourceTrackingConfig"]

logger = get_logger()
UI_URL = "http://127.0.0.1:8765/"  # where `naiad ui` serves by default (its DEFAULT_PORT)
MODES = {"async": "async", "offline": "offline", "disabled": "disabled"}
ErrorCallback = Callable[[BaseException, "float | None"], None]


@dataclasses.dataclass
class SourceTrackingConfig:
    """What source information to log, as in neptune-scale (``source_tracking_config=None``: none).

    naiad's source capture writes ``source_code/…`` (entry point, git commit, branch, dirty
    flag, diff): a given ``namespace``, ``repository`` or the ``upload_*`` choices are
    accepted and not honoured one by one.
    """

    namespace: str = "source_code"
    repository: Path | None = None
    upload_run_command: bool = True
    upload_entry_point: bool = False
    upload_diff_head: bool = False
    upload_diff_upstream: bool = False


_DEFAULT_SOURCE_TRACKING = SourceTrackingConfig()
_KNOWN_KWARGS = {"resume", "system_namespace"}


def _verify(name: str, value: Any, types: tuple[type, ...]) -> None:
    if not isinstance(value, types):
        names = " or ".join("None" if t is type(None) else t.__name__ for t in types)
        raise TypeError(f"{name} must be a {names} (was {type(value)})")


def _verify_timestamp(timestamp: Any) -> datetime | float | None:
    if timestamp is not None and (
        not isinstance(timestamp, (datetime, int, float)) or isinstance(timestamp, bool)
    ):
        raise TypeError(f"timestamp must be a datetime (was {type(timestamp)})")
    return timestamp


class Run(AbstractContextManager["Run"]):
    """A run, created or resumed, with neptune-scale's API; data goes to the naiad store.

    Every argument of ``neptune_scale.Run`` (0.30) is accepted. ``project`` (or
    ``NEPTUNE_PROJECT``) names the naiad project, ``mode`` (or ``NEPTUNE_MODE``) is
    ``async``, ``offline`` or ``disabled``; without either, naiad's own configuration decides
    (``NAIAD_PROJECT``, ``NAIAD_MODE``, ``[tool.naiad]``). The store is naiad's
    (``NAIAD_STORE``, default ``./.naiad``). ``api_token`` / ``NEPTUNE_API_TOKEN`` are ignored.

    Example:
        >>> from naiad.neptune_scale import Run
        >>> with Run(experiment_name="seabird", run_id="seabird-1") as run:  # doctest: +SKIP
        ...     run.log_configs({"parameters/lr": 0.001})
        ...     run.log_metrics({"train/loss": 0.5}, step=1)
    """

    def __init__(
        self,
        *,
        run_id: str | None = None,
        project: str | None = None,
        api_token: str | None = None,
        mode: str | None = None,
        experiment_name: str | None = None,
        creation_time: datetime | None = None,
        fork_run_id: str | None = None,
        fork_step: int | float | None = None,
        log_directory: str | Path | None = None,
        max_queue_size: int | None = None,
        async_lag_threshold: float | None = None,
        on_async_lag_callback: Callable[[], None] | None = None,
        on_queue_full_callback: ErrorCallback | None = None,
        on_network_error_callback: ErrorCallback | None = None,
        on_error_callback: ErrorCallback | None = None,
        on_warning_callback: ErrorCallback | None = None,
        enable_console_log_capture: bool = True,
        runtime_namespace: str | None = None,
        source_tracking_config: SourceTrackingConfig | None = _DEFAULT_SOURCE_TRACKING,
        inherit_configs: bool = True,
        **kwargs: Any,
    ) -> None:
        self._is_closing = True  # until the naiad run exists
        optional_str = (str, type(None))
        for name, value in (
            ("run_id", run_id),
            ("project", project),
            ("api_token", api_token),
            ("mode", mode),
            ("experiment_name", experiment_name),
            ("fork_run_id", fork_run_id),
            ("runtime_namespace", runtime_namespace),
        ):
            _verify(name, value, optional_str)
        _verify("creation_time", creation_time, (datetime, type(None)))
        _verify("fork_step", fork_step, (int, float, type(None)))
        _verify("log_directory", log_directory, (str, Path, type(None)))
        _verify("async_lag_threshold", async_lag_threshold, (int, float, type(None)))
        _verify("enable_console_log_capture", enable_console_log_capture, (bool,))
        _verify("source_tracking_config", source_tracking_config, (SourceTrackingConfig, type(None)))
        for name, callback in (
            ("on_async_lag_callback", on_async_lag_callback),
            ("on_queue_full_callback", on_queue_full_callback),
            ("on_network_error_callback", on_network_error_callback),
            ("on_error_callback", on_error_callback),
            ("on_warning_callback", on_warning_callback),
        ):
            if callback is not None and not callable(callback):
                raise TypeError(f"{name} must be a callable or None (was {type(callback)})")
        if (fork_run_id is None) != (fork_step is None):
            raise ValueError("`fork_run_id` and `fork_step` must be used together.")
        if (on_async_lag_callback is None) != (async_lag_threshold is None):
            raise ValueError("`on_async_lag_callback` must be used with `async_lag_threshold`.")
        if experiment_name is not None and not experiment_name:
            raise ValueError("experiment_name must not be empty")
        unknown = sorted(set(kwargs) - _KNOWN_KWARGS)
        if unknown:
            logger.warning("naiad.neptune_scale.Run ignores the argument(s) %s.", ", ".join(unknown))
        mode = mode or os.environ.get(envs.MODE_ENV_NAME) or None
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (was {mode!r})")
        self._project: str | None = project or os.environ.get(envs.PROJECT_ENV_NAME) or None
        self._experiment_name = experiment_name
        self._fork_step = fork_step
        self._on_error = on_error_callback
        self._last_seen: dict[str, float] = {}
        self._warned_preview = False
        # neptune-scale's switch: "raise" turns a dropped value into an error at the call
        self._raise_drops = os.environ.get(envs.LOG_FAILURE_ACTION, "drop") == "raise"
        self._naiad = NaiadRun(
            experiment_name=experiment_name,
            run_id=run_id,
            project=self._project,
            fork_run_id=fork_run_id,
            fork_step=fork_step,
            creation_time=creation_time,
            mode=None if mode is None else MODES[mode],
            inherit_configs=inherit_configs,
            on_error="raise",  # the layer applies Neptune's policy itself
            capture_stdout=None if enable_console_log_capture else False,
            capture_stderr=None if enable_console_log_capture else False,
            capture_source=source_tracking_config is not None,  # on by default, as in Neptune
        )
        self._project = self._naiad.project
        self._run_id: str = self._naiad.run_id
        self._is_closing = False

    # -- what scripts read ----------------------------------------------------------------------
    @property
    def naiad_run(self) -> NaiadRun:
        """The :class:`naiad.Run` underneath, for naiad's own API (reads, ``run["x"]``)."""
        return self._naiad

    def get_run_url(self) -> str:
        """The run's page in ``naiad ui`` (started with the same store and project)."""
        return f"{UI_URL}#/run/{quote(self._run_id, safe='')}"

    def get_experiment_url(self) -> str:
        """The runs table of ``naiad ui``, filtered to this run's experiment."""
        if self._experiment_name is None:
            raise ValueError("`experiment_name` was not provided during Run initialization")
        name = self._experiment_name.replace("\\", "\\\\").replace('"', '\\"')
        condition = f'sys/experiment/name == "{name}"'
        return f"{UI_URL}#/runs?filter={quote(condition, safe='')}&heads=0"

    # -- logging --------------------------------------------------------------------------------
    def log_metrics(
        self,
        data: Mapping[str, float | int],
        step: float | int | None,
        *,
        timestamp: datetime | None = None,
        preview: bool = False,
        preview_completion: float | None = None,
    ) -> None:
        """Append one point per metric at ``step``; a point out of order is dropped and reported."""
        if not (
            type(step) is int  # the training loop's call, checked in a few comparisons
            and 0 <= step < _convert.MAX_STEP
            and type(data) is dict
            and timestamp is None
            and preview is False
            and preview_completion is None
        ) and self._skip_metrics(data, step, timestamp, preview, preview_completion):
            return
        if self._is_closing:
            return
        try:
            self._naiad.log_metrics(data, step, timestamp)
        except NaiadError:
            values, dropped = _convert.metrics(data)
            self._drop(dropped)
            self._each(values, lambda d: self._naiad.log_metrics(d, step, timestamp))

    def _skip_metrics(
        self, data: Any, step: Any, timestamp: Any, preview: Any, preview_completion: Any
    ) -> bool:
        """neptune-scale's checks of a ``log_metrics`` call; True for a preview (not stored)."""
        check_step(step, optional=True)
        check_dict("metrics", data)
        _verify_timestamp(timestamp)
        _verify("preview", preview, (bool,))
        _verify("preview_completion", preview_completion, (float, type(None)))
        if not preview and preview_completion not in (None, 1.0):
            raise ValueError("preview_completion can only be specified for metric previews")
        if preview_completion is not None and not 0.0 <= preview_completion <= 1.0:
            raise ValueError("preview_completion must have a value between 0.0 and 1.0")
        if preview and not self._warned_preview:
            self._warned_preview = True
            logger.warning("naiad stores no metric previews: preview=True points are skipped.")
        return bool(preview)

    def log_configs(self, data: Any = None, flatten: bool = False, cast_unsupported: bool = False) -> None:
        """Assign single values: a dict, a dataclass, or ``None`` (nothing)."""
        if data is None:
            return
        if dataclasses.is_dataclass(data) and not isinstance(data, type):
            data = dataclasses.asdict(data)
        elif _is_argparse_namespace(data):
            data = vars(data)
        elif not isinstance(data, Mapping):
            raise TypeError(
                "configs must be a mapping-like object with an `.items()` method (e.g., `dict`) or a "
                f"`dataclass` instance, or `NoneType` (was {type(data)})"
            )
        if flatten:
            data = _convert.flatten(data)
        values, dropped = _convert.configs(data, cast_unsupported)
        self._drop(dropped)
        if self._is_closing or not values:
            return
        self._each_call(values, self._naiad.log_configs)

    def log_string_series(
        self, data: Mapping[str, str], step: float | int, *, timestamp: datetime | None = None
    ) -> None:
        """Append one string per series at ``step``."""
        check_step(step, optional=False)
        check_dict("string_series", data)
        ts = _verify_timestamp(timestamp)
        values, dropped = _convert.strings(data)
        self._drop(dropped)
        if not self._is_closing and values:
            self._each_call(values, lambda d: self._naiad.log_string_series(d, step, ts))

    def log_histograms(
        self, histograms: Mapping[str, Any], step: float | int, *, timestamp: datetime | None = None
    ) -> None:
        """Append one :class:`~naiad.neptune_scale.types.Histogram` per series at ``step``."""
        check_step(step, optional=False)
        check_dict("histograms", histograms)
        ts = _verify_timestamp(timestamp)
        values, dropped = _convert.histograms(histograms)
        self._drop(dropped)
        if not self._is_closing and values:
            self._each_call(values, lambda d: self._naiad.log_histograms(d, step, ts))

    def assign_files(self, files: Mapping[str, Any]) -> None:
        """Store each file (path, bytes or :class:`~naiad.neptune_scale.types.File`) at its path."""
        check_dict("files", files)
        values, skipped = _convert.files(files)
        for message in skipped:
            logger.warning(message)
        if not self._is_closing and values:
            self._each_call(values, self._naiad.assign_files)

    def log_files(
        self, files: Mapping[str, Any], step: float | int, *, timestamp: datetime | None = None
    ) -> None:
        """Append one file per file series at ``step``."""
        check_step(step, optional=False)
        check_dict("file_series", files)
        ts = _verify_timestamp(timestamp)
        values, skipped = _convert.files(files)
        for message in skipped:
            logger.warning(message)
        if not self._is_closing and values:
            self._each_call(values, lambda d: self._naiad.log_files(d, step, ts))

    def add_tags(self, tags: list[str] | set[str] | tuple[str, ...], group_tags: bool = False) -> None:
        """Add tags to ``sys/tags`` (``sys/group_tags`` with ``group_tags=True``)."""
        if self._tags_ok(tags) and not self._is_closing:
            self._guard(lambda: self._naiad.add_tags(tags, group_tags=group_tags))

    def remove_tags(self, tags: list[str] | set[str] | tuple[str, ...], group_tags: bool = False) -> None:
        """Remove tags from ``sys/tags`` (or ``sys/group_tags``)."""
        if self._tags_ok(tags) and not self._is_closing:
            self._guard(lambda: self._naiad.remove_tags(tags, group_tags=group_tags))

    def log(
        self,
        step: float | int | None = None,
        timestamp: datetime | None = None,
        configs: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float | int] | None = None,
        tags_add: Mapping[str, Any] | None = None,
        tags_remove: Mapping[str, Any] | None = None,
    ) -> None:
        """The older all-in-one call, kept by neptune-scale for backward compatibility."""
        if configs is not None:
            self.log_configs(configs)
        if metrics is not None:
            self.log_metrics(metrics, step, timestamp=timestamp)
        for changes, add in ((tags_add, True), (tags_remove, False)):
            for name, tags in (changes or {}).items():
                group = name == "sys/group_tags"
                if name not in ("sys/tags", "sys/group_tags"):
                    self._drop([f"Tags go to sys/tags or sys/group_tags (got `{name}`)"])
                elif add:
                    self.add_tags(tags, group_tags=group)
                else:
                    self.remove_tags(tags, group_tags=group)

    # -- waiting and ending ---------------------------------------------------------------------
    def wait_for_submission(self, timeout: float | None = None, verbose: bool = True) -> bool:
        """Block until everything logged so far is in the store. False on timeout."""
        return True if self._is_closing else self._naiad.wait(timeout)

    def wait_for_processing(self, timeout: float | None = None, verbose: bool = True) -> bool:
        """The same as :meth:`wait_for_submission`: naiad has no server-side processing step."""
        return self.wait_for_submission(timeout, verbose)

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, mark the run inactive, and ignore later logging calls."""
        self._is_closing = True
        if hasattr(self, "_naiad"):
            self._naiad.close(timeout)

    def terminate(self) -> None:
        """Stop at once (from an error callback, say): later logging calls are ignored.

        What was queued is still written to the local store; ``close()`` afterwards is a no-op.
        """
        self.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._is_closing = True
        self._naiad.__exit__(exc_type, exc_value, traceback)  # an exception marks sys/failed

    def __repr__(self) -> str:
        return f"<naiad.neptune_scale.Run {self._run_id!r} of {self._naiad!r}>"

    def _write_line(self, path: str, line: str) -> None:
        """One line of a :class:`NeptuneLoggingHandler`, at the series' next step."""
        if not self._is_closing:
            self._guard(lambda: self._naiad.log_string_series({path: line}))

    # -- the layer's error policy ----------------------------------------------------------------
    def _drop(self, messages: list[str]) -> None:
        if messages and self._raise_drops:
            raise NeptuneUnableToLogData("; ".join(messages))
        for message in messages:
            logger.warning("Dropping value. %s.", message)

    def _tags_ok(self, tags: Any) -> bool:
        if isinstance(tags, str):
            return True  # neptune-scale dropped a bare string; naiad reads it as one tag
        if isinstance(tags, (list, set, tuple, frozenset)) and all(isinstance(t, str) for t in tags):
            return True
        self._drop([f"Tags must be a list, set or tuple of strings (got `{tags!r}`)"])
        return False

    def _report(self, error: NaiadError) -> None:
        exc = _convert.neptune_error(error)
        kind = type(exc).__name__
        last_seen = self._last_seen.get(kind)
        self._last_seen[kind] = time.time()
        if self._on_error is None:
            logger.error("%s", exc)
            return
        try:
            self._on_error(exc, last_seen)
        except Exception as e:  # a callback's own bug never reaches the training loop
            logger.error("An exception occurred in user callback function: %s", e)

    def _guard(self, write: Callable[[], None]) -> None:
        try:
            write()
        except NaiadError as e:
            self._report(e)

    def _each_call(self, values: Mapping[str, Any], write: Callable[[Mapping[str, Any]], None]) -> None:
        """The whole call at once; when naiad rejects it (nothing stored), field by field."""
        try:
            write(values)
        except NaiadError:
            self._each(values, write)

    def _each(self, values: Mapping[str, Any], write: Callable[[Mapping[str, Any]], None]) -> None:
        for key, value in values.items():
            if self._is_closing:
                return  # a callback terminated the run
            try:
                write({key: value})
            except NaiadError as e:
                self._report(e)


def _is_argparse_namespace(value: Any) -> bool:
    argparse = sys.modules.get("argparse")
    return argparse is not None and isinstance(value, argparse.Namespace)
