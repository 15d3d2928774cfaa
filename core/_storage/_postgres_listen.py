"""Change notification for the team store: one ``LISTEN naiad_runs`` connection per handle.

Every write transaction to a run ends with ``pg_notify('naiad_runs', '<schema>:<run id>')``
(:mod:`._postgres_sql`), delivered by PostgreSQL when it commits. A daemon thread holds the
listening connection and counts the notifications of its own schema; waiters sleep on a
condition until the count moves, and watchers (the server's live stream) are handed each
notified run id. A token is ``<connection id>:<count>``: a new listening
connection (after a drop) has a new id, so a waiter whose token predates it is told "changed"
rather than miss what happened while nobody listened. While the server cannot be reached,
tokens are unique per call after a short pause: callers then simply poll.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable

from . import _postgres_sql as q

_READY_S = 10.0  # how long the first wait waits for LISTEN to be in place
_DOWN_PAUSE_S = 1.0  # the pause of a wait while nobody listens: polling, not spinning
_TICK_S = 0.5  # how often the listening thread looks at its stop flag


def notified_run(payload: str, schema: str) -> int | None:
    """The run id a ``naiad_runs`` notification names, if it is of the store in ``schema``
    (the payload is ``'<schema>:<run id>'``: one database may hold several stores)."""
    where, _, pk = payload.rpartition(":")
    return int(pk) if where == schema and pk.isdigit() else None


Watcher = Callable[[int], None]


class ChangeListener:
    """Counts this schema's ``naiad_runs`` notifications on a daemon thread and hands each
    notified run id to ``watchers`` (a list its owner may change: a listener started again
    after a fork serves the same watchers)."""

    def __init__(
        self,
        conninfo: str,
        schema: str,
        describe: Callable[[BaseException], str],
        watchers: list[Watcher] | None = None,
    ) -> None:
        self._conninfo, self._schema, self._describe = conninfo, schema, describe
        self._watchers = watchers if watchers is not None else []
        self._cond = threading.Condition()
        self._ident: str | None = None  # the listening connection's id; None while none listens
        self._count = 0
        self._tried = False  # whether a first connection attempt has finished
        self.error = ""  # why nobody listens, when nobody does (the password masked)
        self._stop = threading.Event()
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._listen, name="naiad-pg-listen", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        """Whether the thread runs in this process (a forked child must start its own)."""
        return self._pid == os.getpid() and self._thread.is_alive()

    def wait(self, since: str | None, timeout: float) -> str:
        with self._cond:
            self._cond.wait_for(lambda: self._tried, _READY_S)
            if self._ident is None:  # nobody listens: say "changed" after a pause
                self._cond.wait(min(max(0.0, timeout), _DOWN_PAUSE_S))
                return f"down:{os.urandom(6).hex()}" if self._ident is None else self._token()
            if since is not None:
                self._cond.wait_for(lambda: self._token() != since, max(0.0, timeout))
            return self._token()

    def _token(self) -> str:
        return f"{self._ident}:{self._count}"

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(_TICK_S * 4)

    def _listen(self) -> None:
        import psycopg

        delay = 0.2
        while not self._stop.is_set():
            conn = None
            try:
                conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
                conn.execute(f"LISTEN {q.CHANNEL}")
                with self._cond:
                    self._ident, self._tried, self.error = os.urandom(6).hex(), True, ""
                    self._cond.notify_all()
                delay = 0.2
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=_TICK_S):
                        pk = notified_run(note.payload, self._schema)
                        if pk is not None:
                            with self._cond:
                                self._count += 1
                                self._cond.notify_all()
                            for watch in list(self._watchers):
                                with contextlib.suppress(Exception):  # one bad watcher stops no other
                                    watch(pk)
            except Exception as e:  # any fault: drop this connection, wake waiters, try again
                with self._cond:
                    self._ident, self._tried, self.error = None, True, self._describe(e)
                    self._cond.notify_all()
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
        with self._cond:
            self._ident = None
            self._cond.notify_all()
