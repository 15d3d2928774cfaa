"""Process-level hooks, installed only while a run is open and removed after the last closes.

- ``atexit``: close every open run (bounded by ``EXIT_TIMEOUT_S``) so queued data is written.
  A second Ctrl-C (or SIGTERM) during that flush stops it at once, saying what was not written.
- ``sys.excepthook``: an uncaught exception marks every open run ``sys/failed = True``.
- ``SIGTERM`` (main thread, only when no other handler is set): mark every open run failed by
  that signal, then exit through ``SystemExit(143)`` so the ``atexit`` flush runs, as it does
  after a first Ctrl-C. Python lets only the main thread set a handler: a run opened first in
  another thread warns how to get the flush.
- ``os.fork()``: in the child every inherited open run refuses further use with a clear error
  (its writer thread does not exist there); the parent goes on as before.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import types
from typing import Any, Protocol


class Tracked(Protocol):
    """What the lifecycle needs of an open run (no import of ``Run``: no import circle)."""

    @property
    def run_id(self) -> str: ...
    def mark_failed(self, exc: BaseException | None = None) -> None: ...
    def close(self, timeout: float | None = None) -> bool: ...
    def _abandon(self) -> int: ...
    def _orphan(self, parent: int) -> None: ...


EXIT_TIMEOUT_S = 8.0
_open: dict[int, Tracked] = {}
_lock = threading.Lock()
_previous_excepthook: Any = None
_previous_sigterm: Any = None
_fork_hook = False


def register(run: Tracked) -> None:
    with _lock:
        first = not _open
        _open[id(run)] = run
    if first:
        _install()


def unregister(run: Tracked) -> None:
    with _lock:
        _open.pop(id(run), None)
        last = not _open
    if last:
        _uninstall()


def _install() -> None:
    global _previous_excepthook, _previous_sigterm, _fork_hook
    atexit.register(_at_exit)
    if not _fork_hook:  # cannot be unregistered: registered once, a no-op while no run is open
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook = True
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        _previous_sigterm = signal.SIG_DFL
        signal.signal(signal.SIGTERM, _on_sigterm)
    elif signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        from ._writer import warn

        warn(
            "naiad: this run was opened outside the main thread, where Python cannot install a "
            "SIGTERM handler: a SIGTERM would end the process without writing what is queued "
            "(up to about a second of logging). To have it flushed, set one in the main thread "
            "before starting the thread: signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))."
        )


def _uninstall() -> None:
    global _previous_excepthook, _previous_sigterm
    atexit.unregister(_at_exit)
    if sys.excepthook is _excepthook and _previous_excepthook is not None:
        sys.excepthook = _previous_excepthook
    _previous_excepthook = None
    if _previous_sigterm is not None and threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, _previous_sigterm)
        _previous_sigterm = None


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    parent = os.getppid()
    runs = list(_open.values())
    _open.clear()
    for run in runs:
        run._orphan(parent)


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: types.TracebackType | None) -> None:
    for run in list(_open.values()):
        run.mark_failed(exc)
    hook = _previous_excepthook or sys.__excepthook__
    hook(exc_type, exc, tb)


def _on_sigterm(signum: int, frame: types.FrameType | None) -> None:
    # recorded here, not only by a `with Run()` the exit leaves: a run opened without one
    # would otherwise end looking finished (sys/diagnostics/signal, exit_code, failed)
    ending = SystemExit(128 + signum)
    for run in list(_open.values()):
        run.mark_failed(ending)
    raise ending


def _at_exit() -> None:
    runs = list(_open.values())
    for i, run in enumerate(runs):
        try:
            run.close(timeout=EXIT_TIMEOUT_S)
        except (KeyboardInterrupt, SystemExit):  # the user asked twice: leave now
            from ._writer import warn

            for left in runs[i:]:
                lost = left._abandon()
                warn(
                    f"naiad: interrupted while writing run '{left.run_id}' at exit; "
                    f"{lost} queued op(s) were not written."
                )
            return
