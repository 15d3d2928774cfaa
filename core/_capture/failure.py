"""``sys/diagnostics/{traceback,signal,exit_code}``: how the process ended.

``sys/diagnostics/exception`` and ``…/traceback`` are written by ``Run.mark_failed``; this adds
the signal naiad saw end the process (SIGTERM, SIGINT), and the exit status when the
run is closed at interpreter exit (``sys.exit(n)`` is recorded; an uncaught exception is 1).
"""

from __future__ import annotations

import signal
import sys
from typing import Any


def ending(exc: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(exc, KeyboardInterrupt):
        out["signal"] = "SIGINT"
        out["exit_code"] = 128 + signal.SIGINT
    elif isinstance(exc, SystemExit):
        code = exc.code
        out["exit_code"] = code if isinstance(code, int) else (0 if code is None else 1)
        if isinstance(code, int) and code > 128 and code - 128 in signal.Signals._value2member_map_:
            out["signal"] = signal.Signals(code - 128).name
    else:
        out["exit_code"] = 1
    return out


def is_interpreter_exit() -> bool:
    return bool(getattr(sys, "is_finalizing", lambda: False)())
