"""The store seam over HTTP: a :class:`RunStore` whose every call goes to a ``naiad server``.

``http(s)://HOST:PORT`` with a token, from ``token=``, else ``NAIAD_TOKEN``, else the
credentials file (``$XDG_CONFIG_HOME/naiad/credentials``, by default
``~/.config/naiad/credentials``: TOML, a ``token = "..."`` line, or one table per server,
``["https://naiad.example.com"] token = "..."``). The node holds only that token: files go
to S3 and come back by presigned URLs the server hands out.

Writes: each batch carries (writer, seq), a random writer id per handle and a counter, so the
server applies it once however often it is sent. A batch the server cannot be reached for
(refused, reset, timed out, a 502/503/504) is spooled to local disk (:mod:`._spool`) and the
call returns as if written: training never waits for the server. Every later batch queues
behind it; each write first replays the spool, in order. ``wait()`` says False while batches
are spooled (:meth:`HttpStore.spooled`).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import AccessDenied, ForkParentNotFound, LockTimeout, SchemaVersionError, StorageError
from ._records import (
    Chunk,
    FieldRecord,
    Heartbeat,
    Op,
    RunRecord,
    RunSelection,
    RunSpec,
    SavedView,
    StoreStats,
)
from ._spool import Spool
from ._summary import ChunkSummary
from ._text_chunks import TextChunk
from ._wire import WIRE_TYPE, dumps, loads

if TYPE_CHECKING:
    import httpx

_ERRORS: dict[str, type[StorageError]] = {
    "StorageError": StorageError,
    "WireError": StorageError,
    "LockTimeout": LockTimeout,
    "SchemaVersionError": SchemaVersionError,
}
_UNREACHABLE_STATUS = (502, 503, 504)
_RETRY_MAX_S = 10.0  # longest pause between two tries to reach a server that went away
CLOSE_REPLAY_S = 10.0  # close() keeps replaying the spool this long before leaving it on disk
CHANGES_MAX_WAIT_S = 25.0  # a long poll answers within this, under proxies' idle timeouts
_BLOCK = 1 << 20
SPOOL_SUFFIX = ".naiad-spool"


class Unreachable(StorageError):
    """The server did not answer (or a proxy said it is down): the batch may be retried."""


def credentials_path(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "naiad" / "credentials"


def resolve_token(uri: str, token: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """``token``, else ``NAIAD_TOKEN``, else the credentials file's entry for ``uri``."""
    env = os.environ if environ is None else environ
    if token:
        return token
    if env.get("NAIAD_TOKEN"):
        return env["NAIAD_TOKEN"]
    path = credentials_path(env)
    if not path.is_file():
        return None
    from .._settings import _read_toml

    try:
        data = _read_toml(path)
    except (OSError, ValueError) as e:
        raise StorageError(f"Cannot read the naiad credentials file {path}: {e}.") from e
    entry = data.get(uri.rstrip("/"))
    if isinstance(entry, dict) and isinstance(entry.get("token"), str):
        return str(entry["token"])
    value = data.get("token")
    return value if isinstance(value, str) else None


class HttpStore:
    """A store served by ``naiad server``.

    Example:
        >>> store = HttpStore("http://127.0.0.1:8080", token="naiad_...")  # doctest: +SKIP
        >>> store.projects()  # doctest: +SKIP
        ['default']
    """

    def __init__(
        self,
        uri: str,
        *,
        token: str | None = None,
        spool_dir: Path | None = None,
        timeout_s: float = 30.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        try:
            import httpx
        except ModuleNotFoundError as e:
            raise ModuleNotFoundError(f"The store {uri} needs httpx: pip install 'naiad[http]'.") from e
        self.uri = uri.rstrip("/")
        self.root: Path | None = None
        secret = resolve_token(self.uri, token, environ)
        headers = {"content-type": WIRE_TYPE, "user-agent": "naiad"}
        if secret:
            headers["authorization"] = f"Bearer {secret}"
        self._http = httpx.Client(
            base_url=self.uri, headers=headers, timeout=httpx.Timeout(timeout_s, connect=5.0)
        )
        self.writer = secrets.token_hex(16)
        self._seq = 0
        self._write_lock = threading.Lock()
        from . import journal_dir

        self._spool = Spool((spool_dir or journal_dir(self.uri)) / f"{self.writer}{SPOOL_SUFFIX}", self.uri)
        self._retry_at = 0.0
        self._retry_wait = 0.5
        self.blobs = HttpBlobs(self)

    def __repr__(self) -> str:
        return f"HttpStore({self.uri!r})"

    def __del__(self) -> None:
        # a handle dropped without close() lets its connections go quietly, as sqlite3 does;
        # what it spooled stays on disk
        http = getattr(self, "_http", None)
        if http is not None:
            with contextlib.suppress(Exception):
                self._spool.close()
                http.close()
                self.blobs.close()

    # -- transport -------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One API request; the decoded answer, or the server's error raised here."""
        import httpx

        try:
            response = self._http.request(
                method,
                path,
                content=None if body is None else (body if isinstance(body, bytes) else dumps(body)),
            )
        except httpx.TransportError as e:
            raise Unreachable(
                f"Cannot reach the naiad server at {self.uri}: {type(e).__name__}: {e}. Check that it "
                "is up and the address is right; batches are spooled meanwhile."
            ) from e
        if response.status_code == 200:
            return loads(response.content)
        if response.status_code in _UNREACHABLE_STATUS and not response.headers.get(
            "content-type", ""
        ).startswith("application/json"):
            raise Unreachable(
                f"The naiad server at {self.uri} answered {response.status_code} (a proxy: down?)."
            )
        try:
            payload = response.json()
            name, message = str(payload["error"]), str(payload["message"])
        except (ValueError, KeyError, TypeError):
            name, message = "StorageError", f"HTTP {response.status_code}: {response.text[:200]}"
        where = f"naiad server {self.uri}: {message}"
        if name == "AccessDenied":
            raise AccessDenied(where, status=response.status_code)
        if name == "ForkParentNotFound":
            raise ForkParentNotFound(message)
        if response.status_code in _UNREACHABLE_STATUS:
            raise Unreachable(where)
        raise _ERRORS.get(name, StorageError)(where)

    def _call(self, method: str, **args: Any) -> Any:
        return self.request("POST", f"/api/v1/call/{method}", args)

    # -- runs and sessions -----------------------------------------------------------------------
    def open_run(self, spec: RunSpec) -> RunRecord:
        record: RunRecord = self._call("open_run", spec=spec)
        return record

    def find_run(self, project: str, custom_id: str) -> RunRecord | None:
        found: RunRecord | None = self._call("find_run", project=project, custom_id=custom_id)
        return found

    def find_run_by_sys_id(self, project: str, sys_id: str) -> RunRecord | None:
        found: RunRecord | None = self._call("find_run_by_sys_id", project=project, sys_id=sys_id)
        return found

    def get_run(self, pk: int) -> RunRecord:
        record: RunRecord = self._call("get_run", pk=pk)
        return record

    def children(self, run_pk: int) -> list[RunRecord]:
        return list(self._call("children", run_pk=run_pk))

    def iter_runs(self, project: str | None = None) -> Iterator[RunRecord]:
        return iter(self._call("iter_runs", project=project))

    def projects(self) -> list[str]:
        return list(self._call("projects"))

    def open_session(self, run_pk: int, host: str, pid: int, now: float) -> int:
        return int(self._call("open_session", run_pk=run_pk, host=host, pid=pid, now=now))

    def ping(self, session: int, now: float, closing: bool = False) -> None:
        self._call("ping", session=session, now=now, closing=closing)

    def run_state(self, run_pk: int, now: float) -> tuple[str, float | None]:
        state, last = self._call("run_state", run_pk=run_pk, now=now)
        return str(state), last

    def active_runs(self, run_pks: Sequence[int], now: float) -> set[int]:
        return set(self._call("active_runs", run_pks=list(run_pks), now=now))

    # -- writes ----------------------------------------------------------------------------------
    def write_batch(
        self,
        run_pk: int,
        ops: Sequence[Op],
        *,
        heartbeat: Heartbeat | None = None,
        patience: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> list[str]:
        """Send the batch (once: it carries its sequence number), or spool it while the server
        cannot be reached; the spool goes first, in order."""
        with self._write_lock:
            warnings = self.replay()
            self._seq += 1
            body = dumps(
                {
                    "writer": self.writer,
                    "seq": self._seq,
                    "run_pk": run_pk,
                    "ops": list(ops),
                    "heartbeat": heartbeat,
                }
            )
            if len(self._spool):
                self._spool.append(self._seq, body)
                return warnings
            try:
                return warnings + self._send(body)
            except Unreachable:
                self._spool.append(self._seq, body)
                self._back_off()
                return warnings

    def _send(self, body: bytes) -> list[str]:
        answer = self.request("POST", "/api/v1/batch", body)
        return [str(w) for w in answer["warnings"]]

    def _back_off(self) -> None:
        self._retry_at = time.monotonic() + self._retry_wait
        self._retry_wait = min(self._retry_wait * 2, _RETRY_MAX_S)

    def replay(self) -> list[str]:
        """Send spooled batches in order until the spool is empty or the server is away again;
        the server's warnings about them. Errors other than "unreachable" are raised."""
        warnings: list[str] = []
        if not len(self._spool) or time.monotonic() < self._retry_at:
            return warnings
        while batches := self._spool.head():
            for seq, body in batches:
                try:
                    warnings += self._send(body)
                except Unreachable:
                    self._back_off()
                    return warnings
                self._spool.remove(seq)
        self._retry_wait = 0.5
        return warnings

    def replay_spools(self, directory: Path) -> list[tuple[Path, int, int]]:
        """Deliver the spools other handles (processes that died) left in ``directory`` for
        this server: (spool, batches delivered, batches left) each."""
        out = []
        for path in sorted(directory.glob(f"*{SPOOL_SUFFIX}")):
            spool = Spool(path)
            delivered = 0
            try:
                if len(spool.head(1)) and spool.uri != self.uri:  # another server's batches
                    continue
                while batches := spool.head():
                    for seq, body in batches:
                        self._send(body)
                        spool.remove(seq)
                        delivered += 1
            except Unreachable:
                pass
            finally:
                left = len(spool)
                spool.close()
            out.append((path, delivered, left))
        return out

    def spooled(self) -> int:
        """How many batches wait in the local spool for the server (0: all delivered)."""
        return len(self._spool)

    @property
    def spool_path(self) -> Path:
        return self._spool.path

    # -- reads -----------------------------------------------------------------------------------
    def fields(self, run_pk: int, prefix: str | None = None) -> list[FieldRecord]:
        return list(self._call("fields", run_pk=run_pk, prefix=prefix))

    def field(self, run_pk: int, path: str) -> FieldRecord | None:
        found: FieldRecord | None = self._call("field", run_pk=run_pk, path=path)
        return found

    def field_rows(
        self, run_pks: Sequence[int], paths: Sequence[str] | None = None, ftype: int | None = None
    ) -> list[tuple[int, str, int, Any]]:
        paths = None if paths is None else list(paths)
        return list(self._call("field_rows", run_pks=list(run_pks), paths=paths, ftype=ftype))

    def series_extremes(self, run_pks: Sequence[int]) -> list[tuple[int, str, float | None, float | None]]:
        return list(self._call("series_extremes", run_pks=list(run_pks)))

    def chunks(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        limit: int | None = None,
    ) -> list[Chunk]:
        return list(
            self._call("chunks", run_pk=run_pk, path=path, max_step=max_step, min_step=min_step, limit=limit)
        )

    def chunk_summaries(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        coarse: bool = False,
    ) -> list[ChunkSummary]:
        return list(
            self._call(
                "chunk_summaries",
                run_pk=run_pk,
                path=path,
                max_step=max_step,
                min_step=min_step,
                coarse=coarse,
            )
        )

    def points(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        tail: int | None = None,
    ) -> list[tuple[int, float, Any]]:
        return list(
            self._call("points", run_pk=run_pk, path=path, max_step=max_step, min_step=min_step, tail=tail)
        )

    def text_chunks(
        self,
        run_pk: int,
        path: str,
        max_step: int | None,
        *,
        min_step: int | None = None,
        limit: int | None = None,
        tail: int | None = None,
    ) -> list[TextChunk]:
        return list(
            self._call(
                "text_chunks",
                run_pk=run_pk,
                path=path,
                max_step=max_step,
                min_step=min_step,
                limit=limit,
                tail=tail,
            )
        )

    def last_point_before(self, run_pk: int, path: str, max_step: int) -> tuple[int, Any] | None:
        found: tuple[int, Any] | None = self._call(
            "last_point_before", run_pk=run_pk, path=path, max_step=max_step
        )
        return found

    def select_runs(self, selection: RunSelection, now: float) -> list[tuple[int, str]]:
        return list(self._call("select_runs", selection=selection, now=now))

    def count_runs(self, selection: RunSelection, now: float) -> int:
        return int(self._call("count_runs", selection=selection, now=now))

    def count_by_experiment(self, selection: RunSelection, now: float) -> dict[str, int]:
        return dict(self._call("count_by_experiment", selection=selection, now=now))

    def stats(self) -> StoreStats:
        stats: StoreStats = self._call("stats")
        return stats

    # -- saved views, changes ----------------------------------------------------------------------
    def views(self, project: str | None = None) -> list[SavedView]:
        return list(self._call("views", project=project))

    def save_view(self, view: SavedView) -> None:
        self._call("save_view", view=view)

    def delete_view(self, project: str, name: str) -> bool:
        return bool(self._call("delete_view", project=project, name=name))

    def wait_for_changes(self, since: str | None, timeout: float) -> str:
        """Long-poll the server (at most ``CHANGES_MAX_WAIT_S`` a call): its token, which moves
        when runs changed. A token from another server process reads as a change."""
        import httpx

        wait = max(0.0, min(timeout, CHANGES_MAX_WAIT_S))
        body = dumps({"since": since, "timeout": wait})
        try:
            response = self._http.post("/api/v1/changes", content=body, timeout=wait + 15.0)
        except httpx.TransportError as e:
            raise Unreachable(f"Cannot reach the naiad server at {self.uri}: {e}.") from e
        if response.status_code != 200:
            raise StorageError(f"naiad server {self.uri}: HTTP {response.status_code}: {response.text[:200]}")
        return str(loads(response.content))

    # -- the handle ------------------------------------------------------------------------------
    def check_alive(self) -> None:
        """A server store cannot be replaced under a handle; faults surface on use."""

    def reopen(self, patience: float | None = None, cancel: Callable[[], bool] | None = None) -> None:
        """Nothing to reopen: every call is its own request."""

    def close(self) -> None:
        """Deliver what is spooled (for up to ``CLOSE_REPLAY_S``), then let go. Batches still
        spooled stay on disk, and a warning says where."""
        deadline = time.monotonic() + CLOSE_REPLAY_S
        with self._write_lock:
            while len(self._spool) and time.monotonic() < deadline:
                self._retry_at = 0.0
                self.replay()
                if len(self._spool):
                    time.sleep(0.2)
            left = len(self._spool)
            self._spool.close()
        if left:
            from .._writer import warn

            warn(
                f"naiad: the server at {self.uri} is still unreachable; {left} batch(es) stay "
                f"spooled in {self._spool.path}."
            )
        self._http.close()
        self.blobs.close()


class HttpBlobs:
    """File blobs through a naiad server: presigned PUT and GET straight to S3."""

    def __init__(self, store: HttpStore) -> None:
        self._store = store
        self._s3: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        import httpx

        if self._s3 is None:  # no naiad token in it: these requests go to S3, not to naiad
            self._s3 = httpx.Client(timeout=httpx.Timeout(300.0, connect=10.0))
        return self._s3

    def put(self, source: Path | bytes | BinaryIO) -> tuple[str, int]:
        from ._s3 import _hash_and_spool

        spool, sha, size = _hash_and_spool(source)
        try:
            answer = self._store.request("POST", "/api/v1/blobs/upload", {"sha256": sha, "size": size})
            if answer["present"]:
                return sha, size

            def blocks() -> Iterator[bytes]:
                while block := spool.read(_BLOCK):
                    yield block

            headers = {**answer["headers"], "content-length": str(size)}
            response = self._client().put(answer["url"], content=blocks(), headers=headers)
            if response.status_code != 200:
                raise StorageError(
                    f"The upload of file blob {sha} to S3 failed: HTTP {response.status_code}: "
                    f"{response.text[:300]}"
                )
            return sha, size
        finally:
            spool.close()

    def open(self, sha256: str) -> BinaryIO:
        answer = self._store.request("GET", f"/api/v1/blobs/{sha256}")
        if not answer["present"]:
            raise StorageError(f"File blob {sha256} is missing from the store behind {self._store.uri}.")
        client = self._client()
        response = client.send(client.build_request("GET", answer["url"]), stream=True)
        if response.status_code != 200:
            response.close()
            raise StorageError(f"Cannot download file blob {sha256}: HTTP {response.status_code}.")
        return io.BufferedReader(_Download(response), buffer_size=_BLOCK)

    def exists(self, sha256: str) -> bool:
        return bool(self._store.request("GET", f"/api/v1/blobs/{sha256}")["present"])

    def close(self) -> None:
        if self._s3 is not None:
            self._s3.close()
            self._s3 = None


class _Download(io.RawIOBase):
    """A streamed HTTP response body as a raw binary stream."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._chunks = response.iter_raw(_BLOCK)
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            try:
                self._left = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()
