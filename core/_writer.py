"""The background writer: drains the run's queue, packs points into columns, writes batches.

The calling thread appends messages to a ``deque`` (thread-safe, no lock): a metrics call is
a plain tuple ``(step, timestamp, keys, values)`` (the hot path: no object per call); a point
of another series is a :class:`PointMsg`, a file stored by the calling thread a
:class:`BlobStored`, a flush a :class:`Barrier`; everything else is a typed store op
(:mod:`naiad._storage._records`). The writer wakes every ``interval`` seconds, or at once on ``flush``,
and when the commit policy below says so turns the ops into one batch — float points of every
path gathered into ``array`` columns with ``zip`` so that the per-point work stays in C — and
writes it as one transaction.

Storage faults never reach the calling thread: the failed batch is kept and retried alone with
back-off (nothing new is drained meanwhile, so the queue stays bounded), a warning names the
cause, and the first batch written after recovery records it in
``sys/diagnostics/storage_fault``. While storage is failing and the queue is full, new calls
of every kind are dropped whole and counted (``sys/diagnostics/dropped``; the calling thread
asks :meth:`Writer.admit` before a call moves any state) rather than letting memory grow or
blocking training. A write lock that another process holds longer than ``LOCK_PATIENCE_S`` counts as a
fault (:class:`~naiad.errors.LockTimeout`); a store deleted or replaced under the writer
(:class:`~naiad.errors.StoreReplaced`) is reopened and the run re-attached. ``flush``
without a timeout returns False while storage is failing instead of blocking, and ``close``
gives up on a failing store after ``CLOSE_FAULT_GRACE_S``. A store that spools batches it
cannot deliver (a naiad server away: ``spooled()``) makes ``flush`` warn and say False.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
import warnings
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from . import _sys
from ._storage import Assign, Assigns, Delete, FloatRow, Floats, Heartbeat, Incr, Op, Points, RunStore
from ._types import FieldType, epoch_micros
from .errors import NaiadWarning, StorageError, StoreReplaced

MAX_QUEUE = 50_000  # ops; back-pressure beyond this (about 500,000 points of 10-key calls)
# Commit policy: at once for wait()/close(); as soon as COMMIT_OPS calls are queued (fast
# logging keeps pace); otherwise at least every MAX_LATENCY_S. A trickle of points (a training
# loop's few steps a second) thus costs one transaction a second, not ten.
COMMIT_OPS = 2_000
MAX_LATENCY_S = 1.0
PING_S = 5.0  # sys/ping_time and sys/running_time advance at least this often while a run is open
LOCK_PATIENCE_S = 30.0  # a write lock held longer by another process is a fault, not contention
CLOSE_FAULT_GRACE_S = 10.0  # close() without a timeout retries a failing store this long
_POLL_S = 0.05
WIDE_ROW = 1_000  # a single step of at least this many keys is queued as one FloatRow op


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic garbage collection while a big call makes its million objects.

    Why: each collection walks every tracked object; creating a million of them triggers
    enough collections to double the call's time, and these objects hold no cycles.

    The collector's switch (``gc.enable``/``gc.disable``) is the user's and is never touched:
    the pause raises the first generation's threshold out of reach instead, and puts the old
    thresholds back at the end only if they are still naiad's. A ``gc.disable()`` or
    ``gc.set_threshold()`` made meanwhile (on any thread: the writer commits wide calls on its
    own) thus stands. Nested and concurrent pauses share one: the outermost restores.
    """
    global _gc_depth
    with _gc_lock:
        if _gc_depth == 0:
            _gc_saved[:] = gc.get_threshold()
            gc.set_threshold(_GC_OUT_OF_REACH, *_gc_saved[1:])
            _gc_ours[:] = gc.get_threshold()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and list(gc.get_threshold()) == _gc_ours:
                gc.set_threshold(*_gc_saved)


_GC_OUT_OF_REACH = 2**31 - 1  # the largest threshold CPython takes: no call allocates that many
_gc_lock = threading.Lock()
_gc_depth = 0
_gc_saved: list[int] = []  # the thresholds before the outermost pause
_gc_ours: list[int] = []  # the thresholds the pause set


class PointMsg:
    """One point of a series other than a float series, queued by the calling thread."""

    __slots__ = ("path", "step", "ts", "type", "value")

    def __init__(self, path: str, ftype: int, step: int, ts: float, value: Any) -> None:
        self.path, self.type, self.step, self.ts, self.value = path, ftype, step, ts, value


class BlobStored:
    """A file the calling thread stored: counts toward ``sys/size``."""

    __slots__ = ("nbytes",)

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes


class Barrier:
    """A flush(): released once everything queued before it is committed."""

    __slots__ = ("done",)

    def __init__(self, done: threading.Event) -> None:
        self.done = done


Message = tuple[Any, ...] | PointMsg | BlobStored | Barrier | Op


def warn(text: str) -> None:
    """Warn from any thread; if warnings are errors, print instead of killing the writer thread."""
    try:
        warnings.warn(text, NaiadWarning, stacklevel=2)
    except Exception:
        print(f"NaiadWarning: {text}", file=sys.stderr)


class Writer:
    """Owns the store connection that writes one run's data."""

    def __init__(
        self,
        store: RunStore | None,
        run_pk: int,
        session: int | None,
        created: float,
        interval: float = 0.1,
        reattach: Callable[[], tuple[int, int | None]] | None = None,
    ) -> None:
        # the writer thread packs chunks with numpy (_storage._codec): imported here, on the
        # caller's thread, since an import on the writer thread when Ctrl-C arrives turns the
        # process's exit status 130 into 1
        import numpy  # noqa: F401

        self.queue: deque[Message] = deque()
        self.store = store
        self.run_pk = run_pk
        self.session = session
        self.created = created
        self.interval = interval
        self.reattach = reattach
        self.fault: str | None = None
        self.dropped = 0
        self.lost = False  # something accepted was not made durable: wait() is False from now on
        self.attached = True  # False after the database was replaced, until the run is re-created
        self.written_ops = 0
        self._reported_drops = 0
        self._wake = threading.Event()
        self._stop = False
        self._abandon = False
        self._closing_queued = False
        self._last_ping = 0.0
        self._started = time.time()
        self._pending: list[Op] = []  # converted but not yet committed (kept across faults)
        self._barriers: list[threading.Event] = []  # flush() events released by the next commit
        self._urgent = False  # a flush() is waiting: commit at the next wake-up
        self.bulk = False  # a big call was queued (set by the calling thread): see big_call
        self._last_commit = time.monotonic()
        self._backoff = interval
        self.base_running_time = 0.0  # seconds the run was active before this process
        self._thread = threading.Thread(target=self._loop, name="naiad-writer", daemon=True)
        self._thread.start()

    # -- calling thread --------------------------------------------------------------------------
    def admit(self) -> bool:
        """Room for one more call? Called when the queue is over ``MAX_QUEUE``.

        Waits for the writer to drain to half, unless storage is failing: then False, and the
        caller drops its whole call (never part of one) and counts it.
        """
        self._wake.set()
        while len(self.queue) > MAX_QUEUE // 2 and self._thread.is_alive():
            if self.fault is not None:
                return False
            time.sleep(0.001)
        return True

    def big_call(self) -> None:
        """A call of many keys was queued: commit it now, with the collector paused.

        Why: a million-key call is one queued message, not the ``COMMIT_OPS`` the policy counts,
        and its conversion makes a million objects (see :func:`gc_paused`).
        """
        self.bulk = True
        self._wake.set()

    def refuse(self, count: int) -> None:
        """Count a call dropped whole by back-pressure: ``count`` values not stored."""
        self.dropped += count
        self.lost = True

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every op queued so far is committed.

        False when ``timeout`` runs out, when the writer is gone, or (with no timeout) as soon
        as storage is failing: the caller learns its data is not durable instead of hanging.
        """
        if not self._thread.is_alive():
            return not self.queue and not self._pending
        done = threading.Event()
        self.queue.append(Barrier(done))
        self._urgent = True
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = _POLL_S if deadline is None else min(_POLL_S, deadline - time.monotonic())
            if done.wait(max(left, 0.0)):
                return self._delivered()
            if not self._thread.is_alive() or (deadline is None and self.fault is not None):
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def _delivered(self) -> bool:
        """Committed batches are in the store, unless the store spooled them locally (a naiad
        server that cannot be reached): then say so, and False until they are delivered."""
        spooled = getattr(self.store, "spooled", None)
        count = spooled() if callable(spooled) else 0
        if count:
            warn(
                f"naiad: {count} batch(es) wait in the local spool {self.store.spool_path} "  # type: ignore[union-attr]
                f"because the server at {self.store.uri} cannot be reached; they are replayed "  # type: ignore[union-attr]
                "in order when it answers again. wait() is False until then."
            )
            return False
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush, write the closing bookkeeping, stop the thread. False if it timed out.

        With no ``timeout`` it waits as long as storage makes progress, and gives up
        ``CLOSE_FAULT_GRACE_S`` after storage started failing. Giving up cancels the writer's
        lock wait, so the thread ends by the timeout (unless the OS itself blocks it).
        """
        self._stop = True
        self._wake.set()
        start = time.monotonic()
        # keep a little of the budget to let the cancelled thread end within it
        grace = 0.0 if timeout is None else min(0.5, timeout / 4)
        deadline = None if timeout is None else start + timeout - grace
        failing_since: float | None = None
        while self._thread.is_alive():
            now = time.monotonic()
            failing_since = (failing_since or now) if self.fault is not None else None
            limit = deadline
            if failing_since is not None and timeout is None:
                limit = failing_since + CLOSE_FAULT_GRACE_S
            if limit is not None and now >= limit:
                break
            self._thread.join(_POLL_S if limit is None else min(_POLL_S, limit - now))
        if not self._thread.is_alive():
            return True
        self.lost = True
        self.abandon()
        self._thread.join(grace or _POLL_S)
        return False

    def abandon(self) -> int:
        """Stop writing now (the process is leaving); return how many ops stay unwritten."""
        self._abandon = True
        self._wake.set()
        return len(self.queue) + len(self._pending)

    # -- writer thread ---------------------------------------------------------------------------
    def _loop(self) -> None:
        self._backoff = self.interval
        while True:
            self._wake.wait(self._backoff if self.fault else self.interval)
            self._wake.clear()
            if self._abandon:
                return
            try:
                if self._step():
                    return
            except Exception as e:  # a bug, not a storage fault: lose this batch, never the thread
                lost = len(self._pending) or 1
                self.dropped += lost
                self.lost = True
                self._pending = []
                warn(
                    f"naiad: internal error while writing; {lost} op(s) dropped "
                    f"({type(e).__name__}: {e}). Please report it."
                )
                self._release_barriers()

    def _step(self) -> bool:
        """Drain, commit, release barriers; True when the writer should stop."""
        if not self.bulk:
            return self._step_now()
        with gc_paused():
            return self._step_now()

    def _step_now(self) -> bool:
        stopping = self._stop
        bulk, self.bulk = self.bulk, False
        if not (
            stopping
            or bulk
            or self._urgent
            or self.fault is not None
            or len(self.queue) >= COMMIT_OPS
            or time.monotonic() - self._last_commit >= MAX_LATENCY_S
        ):
            return False  # let a trickle of points gather into one transaction
        self._urgent = False
        # while a batch is failing it is retried alone: the queue stays bounded meanwhile
        # (back-pressure drops and counts), and barriers stay queued behind it
        if self.fault is None or not self._pending:
            self._drain()
        now = time.time()
        if stopping and not self._closing_queued:
            self._pending += self._closing_ops(now)
            self._closing_queued = True
        elif self.fault is None and now - self._last_ping >= PING_S:
            self._pending += self._ping_ops(now)
            # only a ping moves the ping clock: frequent commits of logged data must not hold
            # back sys/ping_time and sys/running_time (they would freeze while the run logs)
            self._last_ping = now
        if self._pending:
            try:
                self._commit(now, closing=stopping)
            except StorageError as e:
                if self._abandon:
                    return True
                self._report_fault(e)
                self._backoff = min(self._backoff * 2, 2.0)
                # barriers wait for the retried batch: back to the head of the queue
                for done in reversed(self._barriers):
                    self.queue.appendleft(Barrier(done))
                self._barriers = []
                return False
            self._backoff = self.interval
            if self.fault is not None:
                self._report_recovery()
        self._release_barriers()
        return stopping and not self.queue

    def _release_barriers(self) -> None:
        for done in self._barriers:
            done.set()
        self._barriers = []

    def _commit(self, now: float, closing: bool) -> None:
        if self.store is None:  # disabled mode: validated, stored nothing
            self._pending = []
            return
        self.store.check_alive()
        if not self.attached:
            self._attach()
        batch: list[Op] = [
            *self._pending,
            Assign(_sys.MODIFICATION_TIME, FieldType.DATETIME, epoch_micros(now)),
        ]
        dropped = self.dropped
        if dropped != self._reported_drops:
            batch.append(Assign(_sys.DIAGNOSTICS_DROPPED, FieldType.INTEGER, dropped))
        if self.fault is not None:  # the run keeps a record of what went wrong while it logged
            batch.append(Assign(_sys.DIAGNOSTICS_STORAGE_FAULT, FieldType.STRING, self.fault[:4096]))
        heartbeat = None if self.session is None else Heartbeat(self.session, now, closing)
        warnings_ = self.store.write_batch(
            self.run_pk, batch, heartbeat=heartbeat, patience=LOCK_PATIENCE_S, cancel=self._cancelled
        )
        # deleted while this batch was being written: it went into the unlinked file, so keep
        # it; the retry writes it again into the re-created database
        self.store.check_alive()
        self._last_commit = time.monotonic()
        self._reported_drops = dropped
        self.written_ops += len(self._pending)
        self._pending = []
        for text in warnings_:
            warn(f"naiad: {text}")

    def _cancelled(self) -> bool:
        return self._abandon

    def _drain(self) -> None:
        """Move everything queued now into ``self._pending`` as store ops, barriers aside."""
        queue = self.queue
        barriers = self._barriers
        floats: dict[str, list[Any]] = {}
        points: dict[str, tuple[int, list[tuple[int, float, Any]]]] = {}
        ops = self._pending
        group_keys: tuple[str, ...] | None = None
        g_steps = array("q")
        g_stamps = array("d")
        g_vals = array("d")  # the group's rows one after another: column j is g_vals[j::width]
        size = 0
        last_ts = 0.0

        def spill_group() -> None:
            nonlocal g_steps, g_stamps, g_vals
            if not g_steps:
                return
            keys: Any = group_keys
            if len(g_steps) == 1 and len(keys) >= WIDE_ROW and floats.keys().isdisjoint(keys):
                # one step of many keys: one op, which the store may write in bulk
                ops.append(FloatRow(keys, g_steps[0], g_stamps[0], g_vals))
                g_steps, g_stamps, g_vals = array("q"), array("d"), array("d")
                return
            # one steps and one stamps column shared by the group's keys (a wide call makes a
            # million series): copied only when a later group of this drain extends a key
            steps, stamps, width = g_steps, g_stamps, len(group_keys)  # type: ignore[arg-type]
            get = floats.get
            for j, key in enumerate(group_keys):  # type: ignore[arg-type]
                column = g_vals[j::width]
                acc = get(key)
                if acc is None:
                    floats[key] = [steps, column, stamps]
                else:
                    if len(acc) == 3:  # still a group's shared columns
                        acc[0], acc[2] = array("q", acc[0]), array("d", acc[2])
                        acc.append(True)  # owned from now on
                    acc[0].extend(steps)
                    acc[1].extend(column)
                    acc[2].extend(stamps)
            g_steps, g_stamps, g_vals = array("q"), array("d"), array("d")

        def spill_all() -> None:
            spill_group()
            ops.extend([Floats(key, acc[0], acc[1], acc[2]) for key, acc in floats.items()])
            for key, (ftype, rows) in points.items():
                ops.append(Points(key, ftype, rows))
            floats.clear()
            points.clear()

        for _ in range(len(queue)):
            op = queue.popleft()
            cls = type(op)
            if cls is tuple:  # metrics: (step, ts, keys, values)
                head, ts, keys, row = op  # type: ignore[misc]
                if keys is not group_keys and keys != group_keys:
                    spill_group()
                    group_keys = keys
                g_steps.append(head)
                g_stamps.append(ts)
                g_vals.extend(row)
                size += 16 * len(keys)
                last_ts = ts
            elif cls is PointMsg:
                assert isinstance(op, PointMsg)
                entry = points.setdefault(op.path, (op.type, []))
                entry[1].append((op.step, op.ts, op.value))
                size += 24
            elif cls is Barrier:
                assert isinstance(op, Barrier)
                barriers.append(op.done)
            elif cls is BlobStored:
                assert isinstance(op, BlobStored)
                size += op.nbytes
            else:
                if cls is Delete:
                    spill_all()
                ops.append(op)  # type: ignore[arg-type]
                size += 32 * len(op.paths) if cls is Assigns else 32  # type: ignore[union-attr]
        spill_all()
        if size:
            ops.append(Incr(_sys.SIZE, size))
        if last_ts:
            ops.append(
                Assign(
                    _sys.RELATIVE_CREATION_TIME_MS,
                    FieldType.INTEGER,
                    _sys.relative_creation_ms(last_ts, self.created),
                )
            )

    def _ping_ops(self, now: float) -> list[Op]:
        return [
            Assign(_sys.PING_TIME, FieldType.DATETIME, epoch_micros(now)),
            Assign(_sys.RUNNING_TIME, FieldType.FLOAT, self._running_time(now)),
        ]

    def _closing_ops(self, now: float) -> list[Op]:
        return [*self._ping_ops(now), Assign(_sys.STATE, FieldType.STRING, _sys.INACTIVE)]

    def _running_time(self, now: float) -> float:
        return _sys.running_time(self.base_running_time, self._started, now)

    def _report_fault(self, error: StorageError) -> None:
        message = str(error)
        if message != self.fault:
            warn(
                f"naiad: cannot write to the store: {message} Training goes on; naiad keeps "
                "the data in memory (up to the queue bound) and retries."
            )
        self.fault = message
        if self.store is not None and isinstance(error, StoreReplaced):
            # the run's key names nothing in the new file, or another user's run: never write
            # with it again until the run is re-created there
            self.attached = False
            try:
                self.store.reopen(patience=LOCK_PATIENCE_S, cancel=self._cancelled)
                self._attach()
            except StorageError:
                pass  # retried before the next batch

    def _attach(self) -> None:
        """Re-create the run in a replaced database; a StorageError until that succeeds."""
        if self.reattach is not None:
            try:
                self.run_pk, self.session = self.reattach()
            except StorageError:
                raise
            except Exception as e:  # e.g. a refusal by the store: the batch waits, never strays
                raise StorageError(f"cannot re-create the run in the new database: {e}") from e
        self.attached = True
        self._reported_drops = 0  # the new database has not heard of them yet

    def _report_recovery(self) -> None:
        lost = f"; {self.dropped} op(s) were dropped while it failed" if self.dropped else ""
        warn(f"naiad: the store is writable again{lost}.")
        self.fault = None
