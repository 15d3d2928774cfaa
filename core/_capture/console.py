"""``monitoring/<label>/{stdout,stderr}``: a tee in front of ``sys.stdout`` / ``sys.stderr``.

The terminal gets every write unchanged and at once; the run gets whole lines, with carriage-
return progress bars collapsed to their last state. Lines are handed to the run by a daemon
thread, so printing never waits on storage; past ``MAX_PENDING`` characters waiting, the
printing thread waits briefly for that thread (bounded, so huge output cannot deadlock).
The original streams are put back when the last capturing run stops.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

MAX_LINE = 60_000  # characters per point; longer lines are split, never dropped
MAX_PENDING = 4_000_000
FLUSH_S = 0.5


class _Tee:
    def __init__(self, stream: TextIO, sink: Console) -> None:
        self._stream = stream
        self._sink = sink

    def write(self, text: str) -> int:
        n = self._stream.write(text)
        self._sink.feed(text)
        return n

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Console:
    """Captures one stream (``stdout`` or ``stderr``) into one string series."""

    def __init__(self, run: Any, name: str, path: str) -> None:
        self._run, self._name, self._path = run, name, path
        self._chunks: list[str] = []
        self._size = 0
        self._partial = ""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._pid = os.getpid()
        self._original: TextIO = getattr(sys, name)
        self._tee = _Tee(self._original, self)
        setattr(sys, name, self._tee)
        self._thread = threading.Thread(target=self._loop, name=f"naiad-{name}", daemon=True)
        self._thread.start()

    def feed(self, text: str) -> None:
        # a forked child (a DataLoader worker) inherits the tee but not the thread draining it
        if not text or os.getpid() != self._pid:
            return
        with self._lock:
            self._chunks.append(text)
            self._size += len(text)
            full = self._size > MAX_PENDING
        if full and threading.current_thread() is not self._thread:
            self._wake.set()
            deadline = time.monotonic() + 5.0
            while self._size > MAX_PENDING and time.monotonic() < deadline and self._thread.is_alive():
                time.sleep(0.001)

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(FLUSH_S)
            self._wake.clear()
            self._drain(final=False)

    def _drain(self, final: bool) -> None:
        with self._lock:
            chunks, self._chunks, self._size = self._chunks, [], 0
        text = self._partial + "".join(chunks)
        lines = text.split("\n")
        self._partial = "" if final else lines.pop()
        if final and lines and lines[-1] == "":
            lines.pop()
        for raw in lines:
            line = raw
            if "\r" in raw:
                parts = [p for p in raw.split("\r") if p]
                line = parts[-1] if parts else ""
            for i in range(0, max(len(line), 1), MAX_LINE):
                try:
                    self._run.log_string_series({self._path: line[i : i + MAX_LINE]})
                except Exception:  # a closed run or a bad character never breaks printing
                    return

    def stop(self) -> None:
        if getattr(sys, self._name) is self._tee:
            setattr(sys, self._name, self._original)
        else:  # someone wrapped us since: stay in place, but pass writes through only
            self.feed = lambda text: None  # type: ignore[method-assign]
        self._stopping = True
        self._wake.set()
        self._thread.join(10)
        self._drain(final=True)
