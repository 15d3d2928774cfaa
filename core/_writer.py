"""The background writer: drains the run's queue, packs points into columns, writes batches.

The calling thread appends plain tuples to a ``deque`` (thread-safe, no lock): a metrics op is
``(step, timestamp, keys, values)``; every other op is a tuple whose first item names it (see
``_storage._protocol``). The writer wakes every ``interval`` seconds, or at once on ``flush``,
turns the ops into one batch — float points of every path gathered into ``array`` columns
with ``zip`` so that the per-point work stays in C — and writes it as one transaction.

Storage faults never reach the calling thread: the batch is kept and retried with back-off, a
warning names the cause, and the writer reports recovery. While storage is failing and the
queue is full, new ops are dropped and counted (``sys/diagnostics/dropped``) rather than
letting memory grow or blocking training.
"""

from __future__ import annotations

import threading
import time
import warnings
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any

from ._storage import Op, SqliteStore
from ._types import FieldType
from .errors import NaiadWarning, StorageError

MAX_QUEUE = 50_000  # ops; back-pressure beyond this (about 500,000 points of 10-key calls)


class Writer:
    """Owns the store connection that writes one run's data."""

    def __init__(self, store: SqliteStore | None, run_pk: int, session: int | None,
                 created: float, interval: float = 0.1,
                 reattach: Callable[[], tuple[int, int | None]] | None = None) -> None:
        self.queue: deque[tuple[Any, ...]] = deque()
        self.store = store
        self.run_pk = run_pk
        self.session = session
        self.created = created
        self.interval = interval
        self.reattach = reattach
        self.fault: str | None = None
        self.dropped = 0
        self.written_ops = 0
        self._reported_drops = 0
        self._wake = threading.Event()
        self._stop = False
        self._abandon = False
        self._last_ping = 0.0
        self._started = time.time()
        self._pending: list[Op] = []  # converted but not yet committed (kept across faults)
        self.base_running_time = 0.0  # seconds the run was active before this process
        self._thread = threading.Thread(target=self._loop, name="naiad-writer", daemon=True)
        self._thread.start()

    # -- calling thread --------------------------------------------------------------------------
    def put(self, op: tuple[Any, ...]) -> None:
        self.queue.append(op)
        if len(self.queue) > MAX_QUEUE:
            self.backpressure()

    def backpressure(self) -> None:
        """Wait for the writer to drain, unless storage is failing: then drop the newest op."""
        self._wake.set()
        while len(self.queue) > MAX_QUEUE // 2 and self._thread.is_alive():
            if self.fault is not None:
                self.queue.pop()
                self.dropped += 1
                return
            time.sleep(0.001)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every op queued so far is committed; False on timeout."""
        if not self._thread.is_alive():
            return not self.queue and not self._pending
        done = threading.Event()
        self.queue.append(("barrier", done))
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Flush, write the closing bookkeeping, stop the thread. False if it timed out."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abandon = True
            return False
        return True

    # -- writer thread ---------------------------------------------------------------------------
    def _loop(self) -> None:
        backoff = self.interval
        while True:
            self._wake.wait(backoff if self.fault else self.interval)
            self._wake.clear()
            if self._abandon:
                return
            stopping = self._stop
            barriers = self._drain()
            now = time.time()
            if stopping:
                self._pending += self._closing_ops(now)
            elif now - self._last_ping >= 5.0:
                self._pending += self._ping_ops(now)
            if self._pending:
                try:
                    self._commit(now, closing=stopping)
                except StorageError as e:
                    self._report_fault(e)
                    backoff = min(backoff * 2, 2.0)
                    self._retry_barriers(barriers)
                    continue
                backoff = self.interval
                if self.fault is not None:
                    self._report_recovery()
            for done in barriers:
                done.set()
            if stopping and not self.queue:
                return

    def _retry_barriers(self, barriers: list[threading.Event]) -> None:
        # barriers wait for the retried batch: put them back at the head of the queue
        for done in reversed(barriers):
            self.queue.appendleft(("barrier", done))

    def _commit(self, now: float, closing: bool) -> None:
        if self.store is None:  # disabled mode: validated, stored nothing
            self._pending = []
            return
        self.store.check_alive()
        batch = [*self._pending,
                 ("assign", "sys/modification_time", FieldType.DATETIME, round(now * 1_000_000))]
        dropped = self.dropped
        if dropped != self._reported_drops:
            batch.append(("assign", "sys/diagnostics/dropped", FieldType.INTEGER, dropped))
        warnings_ = self.store.write_batch(self.run_pk, batch, self.session, now, closing)
        self._last_ping = now
        self._reported_drops = dropped
        self.written_ops += len(self._pending)
        self._pending = []
        for text in warnings_:
            warnings.warn(f"naiad: {text}", NaiadWarning, stacklevel=1)

    def _drain(self) -> list[threading.Event]:
        """Move everything queued now into ``self._pending`` as store ops; return barriers."""
        queue = self.queue
        barriers: list[threading.Event] = []
        floats: dict[str, list[Any]] = {}
        points: dict[str, list[Any]] = {}
        ops = self._pending
        group_keys: tuple[str, ...] | None = None
        g_steps = array("q")
        g_stamps = array("d")
        g_rows: list[tuple[float, ...]] = []
        size = 0
        last_ts = 0.0

        def spill_group() -> None:
            nonlocal g_steps, g_stamps, g_rows
            if not g_rows:
                return
            columns = zip(*g_rows)
            for key, column in zip(group_keys, columns):  # type: ignore[arg-type]
                acc = floats.get(key)
                if acc is None:
                    floats[key] = [array("q", g_steps), array("d", column), array("d", g_stamps)]
                else:
                    acc[0].extend(g_steps)
                    acc[1].extend(column)
                    acc[2].extend(g_stamps)
            g_steps, g_stamps, g_rows = array("q"), array("d"), []

        def spill_all() -> None:
            spill_group()
            for key, (steps, vals, stamps) in floats.items():
                ops.append(("floats", key, steps, vals, stamps))
            for key, (ftype, rows) in points.items():
                ops.append(("points", key, ftype, rows))
            floats.clear()
            points.clear()

        for _ in range(len(queue)):
            op = queue.popleft()
            head = op[0]
            if type(head) is int:  # metrics: (step, ts, keys, values)
                keys = op[2]
                if keys is not group_keys and keys != group_keys:
                    spill_group()
                    group_keys = keys
                g_steps.append(head)
                g_stamps.append(op[1])
                g_rows.append(op[3])
                size += 16 * len(keys)
                last_ts = op[1]
            elif head == "point":  # ("point", path, type, step, ts, value)
                entry = points.setdefault(op[1], (op[2], []))
                entry[1].append((op[3], op[4], op[5]))
                size += 24
            elif head == "barrier":
                barriers.append(op[1])
            else:
                if head == "delete":
                    spill_all()
                elif head == "blob":  # ("blob", nbytes): a file stored by the calling thread
                    size += op[1]
                    continue
                ops.append(op)
                size += 32
        spill_all()
        if size:
            ops.append(("incr", "sys/size", size))
        if last_ts:
            ops.append(("assign", "sys/relative_creation_time_ms", FieldType.INTEGER,
                        max(0, round((last_ts - self.created) * 1000))))
        return barriers

    def _ping_ops(self, now: float) -> list[Op]:
        return [("assign", "sys/ping_time", FieldType.DATETIME, round(now * 1_000_000)),
                ("assign", "sys/running_time", FieldType.FLOAT, self._running_time(now))]

    def _closing_ops(self, now: float) -> list[Op]:
        return [*self._ping_ops(now), ("assign", "sys/state", FieldType.STRING, "inactive")]

    def _running_time(self, now: float) -> float:
        return self.base_running_time + (now - self._started)

    def _report_fault(self, error: StorageError) -> None:
        message = str(error)
        if message != self.fault:
            warnings.warn(
                f"naiad: cannot write to the store ({message}). Training goes on; naiad keeps "
                "the data in memory and retries.", NaiadWarning, stacklevel=1)
        self.fault = message
        if self.store is not None and ("deleted" in message or "replaced" in message):
            try:
                self.store.reopen()
                if self.reattach is not None:
                    self.run_pk, self.session = self.reattach()
            except StorageError:
                pass

    def _report_recovery(self) -> None:
        lost = f"; {self.dropped} op(s) were dropped while it failed" if self.dropped else ""
        warnings.warn(f"naiad: the store is writable again{lost}.", NaiadWarning, stacklevel=1)
        self.fault = None
