"""``NeptuneLoggingHandler``: Python ``logging`` records into a run's string series."""

from __future__ import annotations

import logging
import threading

from ._run import Run

__all__ = ["NeptuneLoggingHandler"]


class NeptuneLoggingHandler(logging.Handler):
    """Send each formatted log record to the string series ``attribute_path`` (``runtime/logs``).

    Example:
        >>> handler = NeptuneLoggingHandler(run=run, level=logging.INFO)  # doctest: +SKIP
        >>> logging.getLogger("train").addHandler(handler)  # doctest: +SKIP
    """

    def __init__(self, *, run: Run, level: int = logging.NOTSET, attribute_path: str | None = None) -> None:
        if not isinstance(run, Run):
            raise TypeError(f"run must be a Run (was {type(run)})")
        if not isinstance(level, int):
            raise TypeError(f"level must be an int (was {type(level)})")
        if attribute_path is not None and not isinstance(attribute_path, str):
            raise TypeError(f"attribute_path must be a str or None (was {type(attribute_path)})")
        super().__init__(level=level)
        self._path = attribute_path or "runtime/logs"
        self._run = run
        self._inside = threading.local()  # a record logged while writing one is not sent again

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._inside, "active", False):
            return
        self._inside.active = True
        try:
            text = self.format(record)
            for line in text.splitlines() or [""]:
                self._run._write_line(self._path, line)
        except Exception:
            self.handleError(record)
        finally:
            self._inside.active = False
