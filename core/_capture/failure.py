"""``sys/diagnostics/{traceback,signal,exit_code}``: how the process ended.

``sys/diagnostics/exception`` and ``…/traceback`` are written by ``Run.mark_failed``; this adds
the exit status the ending causes (an uncaught exception: 1; ``SystemExit(n)``: n) and the
signal naiad saw end the process (SIGINT as ``KeyboardInterrupt``; SIGTERM through naiad's
handler, which raises ``SystemExit(143)``). A ``sys.exit()`` / ``sys.exit(0)`` leaving a
``with Run()`` block is a clean end: exit status 0, the run not failed. A ``sys.exit(n)``
outside any ``with`` block is not seen (Python tells no exit hook the status).
"""

from __future__ import annotations

import signal
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


def is_clean_exit(exc: BaseException) -> bool:
    """``sys.exit()`` / ``sys.exit(0)``: the script ended as it meant to, not a failure."""
    return isinstance(exc, SystemExit) and exc.code in (None, 0)
