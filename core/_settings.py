"""Settings, resolved once per run: argument > ``NAIAD_*`` environment > config file > default.

The config file is the nearest ``naiad.toml`` or ``pyproject.toml`` with a ``[tool.naiad]``
table, searched from the working directory upwards. ``naiad.toml`` holds the keys at its top
level (or under ``[tool.naiad]``). The environment is a parameter so tests inject it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MODES = ("async", "sync", "offline", "disabled", "read-only")
ON_ERROR = ("raise", "warn")
MONITORING_PER = ("node", "rank")  # system metrics from local rank 0 of each node, or every rank
DEFAULT_STORE = ".naiad"
DEFAULT_PROJECT = "default"

# setting name → environment variable
_ENV = {
    "store": "NAIAD_STORE",
    "blobs": "NAIAD_BLOBS",
    "token": "NAIAD_TOKEN",
    "project": "NAIAD_PROJECT",
    "mode": "NAIAD_MODE",
    "owner": "NAIAD_OWNER",
    "experiment_name": "NAIAD_EXPERIMENT",
    "run_id": "NAIAD_RUN_ID",
    "on_error": "NAIAD_ON_ERROR",
    "log_checkpoints": "NAIAD_LOG_CHECKPOINTS",
    "capture_stdout": "NAIAD_CAPTURE_STDOUT",
    "capture_stderr": "NAIAD_CAPTURE_STDERR",
    "capture_hardware_metrics": "NAIAD_CAPTURE_HARDWARE_METRICS",
    "monitoring_interval": "NAIAD_MONITORING_INTERVAL",
    "monitoring_per": "NAIAD_MONITORING_PER",
    "capture_traceback": "NAIAD_CAPTURE_TRACEBACK",
    "capture_source": "NAIAD_CAPTURE_SOURCE",
    "source_files": "NAIAD_SOURCE_FILES",
    "capture_environment": "NAIAD_CAPTURE_ENVIRONMENT",
}
_BOOLS = (
    "log_checkpoints", "capture_stdout", "capture_stderr", "capture_hardware_metrics",
    "capture_traceback", "capture_source", "capture_environment",
)  # fmt: skip
_FILE_KEYS = {"experiment": "experiment_name"}  # naiad.toml spelling → setting


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where and how a run logs. Build with :func:`resolve`."""

    store: str = DEFAULT_STORE
    blobs: str | None = None  # where file blobs go: a directory or s3://BUCKET/PREFIX
    # a naiad server's token: never from a config file, never shown in a repr
    token: str | None = dataclasses.field(default=None, repr=False)
    project: str = DEFAULT_PROJECT
    mode: str = "async"
    owner: str = ""
    experiment_name: str | None = None
    run_id: str | None = None
    on_error: str = "raise"
    log_checkpoints: bool = False
    # what the run was (naiad._capture): each part has a switch; see the README
    capture_stdout: bool = True
    capture_stderr: bool = True
    capture_hardware_metrics: bool = True
    monitoring_interval: float = 10.0
    monitoring_per: str = "node"  # or "rank": who samples system metrics (see MONITORING_PER)
    capture_traceback: bool = True
    capture_source: bool = False
    source_files: tuple[str, ...] | None = None  # None: the entry-point script
    capture_environment: bool = False


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    with path.open("rb") as f:
        return tomllib.load(f)


def file_settings(cwd: Path) -> dict[str, Any]:
    """The ``[tool.naiad]`` table of the nearest ``naiad.toml`` / ``pyproject.toml``."""
    for directory in (cwd, *cwd.parents):
        naiad_toml = directory / "naiad.toml"
        if naiad_toml.is_file():
            data = _read_toml(naiad_toml)
            table = data.get("tool", {}).get("naiad", data)
            return _relative_store(dict(table), directory)
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            table = _read_toml(pyproject).get("tool", {}).get("naiad")
            if table is not None:
                return _relative_store(dict(table), directory)
    return {}


def _relative_store(table: dict[str, Any], directory: Path) -> dict[str, Any]:
    """A relative ``store`` or ``blobs`` in a config file is relative to that file's directory."""
    if "token" in table:
        from .errors import ConfigError

        raise ConfigError(
            f"[tool.naiad] token in {directory} is refused: tokens never go in files that get "
            "committed. Remove it and pass token=, set NAIAD_TOKEN, or put it in "
            "~/.config/naiad/credentials."
        )
    for key in ("store", "blobs"):
        location = table.get(key)
        if isinstance(location, str) and "://" not in location and not os.path.isabs(location):
            table[key] = str(directory / location)
    return {_FILE_KEYS.get(k, k): v for k, v in table.items()}


def resolve(
    args: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve settings from arguments (``None`` means unset), environment and config file."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    args = {k: v for k, v in (args or {}).items() if v is not None}
    from_file = file_settings(cwd)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        name = field.name
        if name in args:
            values[name] = args[name]
        elif _ENV.get(name, "") in environ and environ[_ENV[name]] != "":
            values[name] = environ[_ENV[name]]
        elif name in from_file:
            values[name] = from_file[name]
    values.setdefault("owner", environ.get("NAIAD_OWNER") or _os_user())
    for name in _BOOLS:
        if isinstance(values.get(name), str):
            values[name] = values[name].lower() in ("1", "true", "yes", "on")
    if isinstance(values.get("monitoring_interval"), str):
        # left as given when it is no number: check_capture (a run opening) says so; a
        # query, which never samples, does not fail over it
        with contextlib.suppress(ValueError):
            values["monitoring_interval"] = float(values["monitoring_interval"])
    if isinstance(values.get("source_files"), str):
        values["source_files"] = tuple(g for g in values["source_files"].split(",") if g)
    elif values.get("source_files") is not None:
        values["source_files"] = tuple(values["source_files"])
    settings = Settings(**{k: v for k, v in values.items() if k in Settings.__dataclass_fields__})
    for name in ("project", "experiment_name", "run_id", "owner"):
        value = getattr(settings, name)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                from .errors import FieldValueError

                raise FieldValueError(
                    f"{name}={value!r} is not valid Unicode (it holds a lone surrogate); "
                    f"pass {name} as a string that encodes to UTF-8."
                ) from None
    if settings.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {settings.mode!r}.")
    if settings.on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'raise' or 'warn'; got {settings.on_error!r}.")
    return settings


def check_capture(settings: Settings) -> None:
    """Raise ValueError for a monitoring setting a run cannot sample with (before it opens)."""
    interval = settings.monitoring_interval
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
        raise ValueError(
            f"monitoring_interval (NAIAD_MONITORING_INTERVAL) must be the seconds between "
            f"system-metric samples, a number above 0 such as 10 or 0.5; got {interval!r}."
        )
    if settings.monitoring_per not in MONITORING_PER:
        raise ValueError(
            "monitoring_per (NAIAD_MONITORING_PER) must be 'node' or 'rank'; "
            f"got {settings.monitoring_per!r}."
        )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in containers without /etc/passwd entries
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"
