"""``neptune_scale.util.daemon``: ``Daemon``, a thread that works every few seconds."""

from __future__ import annotations

import threading

__all__ = ["Daemon"]


class Daemon(threading.Thread):
    """A daemon thread that calls :meth:`work` every ``sleep_time`` seconds until interrupted.

    Example:
        >>> class Beat(Daemon):
        ...     def work(self) -> None:
        ...         pass
        >>> beat = Beat(name="beat", sleep_time=0.01)
        >>> beat.start(); beat.interrupt(); beat.join()
    """

    def __init__(self, name: str, sleep_time: float) -> None:
        super().__init__(daemon=True, name=name)
        self._sleep_time = sleep_time
        self._wake = threading.Event()
        self._interrupted = False
        self._remaining: int | None = None

    def interrupt(self, remaining_iterations: int = 0) -> None:
        """Stop after ``remaining_iterations`` more calls of :meth:`work`."""
        self._remaining = remaining_iterations
        self._interrupted = True
        self._wake.set()

    def wake_up(self) -> None:
        self._wake.set()

    def run(self) -> None:
        while True:
            if self._interrupted:
                if not self._remaining:
                    return
                self._remaining -= 1
            self.work()
            if not self._interrupted:
                self._wake.wait(self._sleep_time)
                self._wake.clear()

    def work(self) -> None:
        """One iteration; subclasses override it."""
