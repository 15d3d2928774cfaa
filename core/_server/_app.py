"""The server's ASGI app (Starlette): the store seam over HTTP, blobs by presigned URLs, health.

Routes (all JSON in the wire format of :mod:`naiad._storage._wire`, all but ``/healthz``
behind a token):

- ``POST /api/v1/call/{method}``: one store call (:mod:`._rpc`);
- ``POST /api/v1/batch``: one write batch, applied once per (writer, seq);
- ``POST /api/v1/blobs/upload`` ``{sha256, size}``: ``{"present": true}`` or a presigned PUT;
- ``GET /api/v1/blobs/{sha256}``: whether it is stored, and a presigned GET when it is;
- ``POST /api/v1/changes`` ``{since, timeout}``: the store's change token, once it moved;
- ``GET /healthz``: the database answers;
- everything else: the web UI and its live updates (:mod:`._ui`).

Store calls are blocking (psycopg): they run in the thread pool, each on a handle borrowed
from a small pool of store handles (one PostgreSQL connection each), so a worker holds at
most ``connections`` database connections however many clients it serves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import queue
import re
import secrets
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._storage import _postgres_server as tables
from .._storage._postgres import PostgresStore
from .._storage._s3 import S3Blobs
from .._storage._wire import WIRE_TYPE, WireError, dumps, loads
from ..errors import AccessDenied, ForkParentNotFound, LockTimeout, SchemaVersionError, StorageError
from . import _auth, _rpc, _ui

log = logging.getLogger("naiad.server")
_SHA = re.compile(r"^[0-9a-f]{64}$")
DROP_ACKS_ENV = "NAIAD_SERVER_TEST_DROP_ACKS"  # tests only: drop the answer of every Nth batch


@dataclasses.dataclass(frozen=True)
class Config:
    """What one server process serves, and its limits."""

    store: str  # postgresql://…
    blobs: str | None = None  # s3://BUCKET/PREFIX (default: what the store recorded)
    connections: int = 8  # database connections per worker process
    max_body: int = 64 << 20  # bytes of one request body
    body_timeout_s: float = 60.0  # a request body must arrive within this
    presign_s: int = 3600  # lifetime of presigned blob URLs

    def to_env(self) -> dict[str, str]:
        """The config as environment variables, for worker processes (``--workers``)."""
        return {
            f"NAIAD_SERVER_{k.upper()}": str(v) for k, v in dataclasses.asdict(self).items() if v is not None
        }

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"NAIAD_SERVER_{f.name.upper()}")
            if raw is not None:
                values[f.name] = raw if f.name in ("store", "blobs") else float(raw)
                if f.type in ("int", int):
                    values[f.name] = int(values[f.name])
        return cls(**values)


class Pool:
    """At most ``size`` store handles (connections), lent one request at a time."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._idle: queue.LifoQueue[PostgresStore] = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()
        first = self._open()
        self._made = 1
        if not isinstance(first.blobs, S3Blobs):
            first.close()
            raise StorageError(
                f"naiad server serves file blobs by presigned S3 URLs; the store {first.uri} keeps "
                "its files elsewhere. Start it with --blobs s3://BUCKET/PREFIX."
            )
        self.blobs: S3Blobs = first.blobs
        tables.ensure_tables(first)
        self._idle.put(first)

    def _open(self) -> PostgresStore:
        return PostgresStore(self.config.store, create=True, blobs=self.config.blobs)

    @contextlib.contextmanager
    def handle(self) -> Iterator[PostgresStore]:
        try:
            store = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = self._made < self.config.connections
                self._made += grow
            store = self._open() if grow else self._idle.get()
        try:
            yield store
        finally:
            self._idle.put(store)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break


class Server:
    """The state one app holds: the pool, the run → project cache, the test hook."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pool = Pool(config)
        self.projects = _rpc.Projects()
        drop = os.environ.get(DROP_ACKS_ENV, "")
        self.drop_every = int(drop) if drop.isdigit() else 0
        self.applied = 0
        self._id = secrets.token_hex(4)
        self._changes: PostgresStore | None = None
        self._changes_lock = threading.Lock()

    def close(self) -> None:
        self.pool.close()
        if self._changes is not None:
            self._changes.close()

    def changes(self) -> PostgresStore:
        """This process's one listening handle: its LISTEN connection serves every long-poll
        (``wait_for_changes``) and every live stream (``watch_runs``)."""
        with self._changes_lock:
            if self._changes is None:
                self._changes = PostgresStore(self.config.store, create=False)
            return self._changes

    def wait_for_changes(self, since: str | None, timeout: float) -> str:
        """Wait on :meth:`changes`; its tokens carry the process's id, so a token of another
        replica or worker reads as a change (allowed), never as none."""
        prefix = f"{self._id}:"
        inner = since[len(prefix) :] if since and since.startswith(prefix) else None
        return prefix + self.changes().wait_for_changes(inner, timeout)

    def caller(self, store: PostgresStore, request: Request, header: str | None = None) -> _auth.Caller:
        """Who sent ``request`` (its ``Authorization`` header, or ``header`` when given)."""
        caller = _auth.authenticate(store, header or request.headers.get("authorization"))
        request.scope.setdefault("state", {})["token_id"] = caller.token_id
        return caller

    async def run(self, request: Request, work: Callable[[PostgresStore, _auth.Caller, Any], Any]) -> Any:
        body = await _body(request, self.config)

        def blocking() -> Any:
            with self.pool.handle() as store:
                for attempt in range(2):
                    try:
                        caller = self.caller(store, request)
                        return work(store, caller, loads(body) if body else None)
                    except StorageError as e:
                        # a pooled connection the database dropped (restart, terminated
                        # backend): the handle reconnects, and one retry is safe for every
                        # call, writes included, since a batch applies once per (writer, seq)
                        if attempt or not unreachable(e):
                            raise
            raise AssertionError("unreachable")  # pragma: no cover

        return await run_in_threadpool(blocking)


def unreachable(e: StorageError) -> bool:
    """Whether ``e`` says the database could not be reached (rather than refusing the call)."""
    import psycopg

    return isinstance(e.__cause__, psycopg.OperationalError)


async def _body(request: Request, config: Config) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > config.max_body:
        raise _TooLarge(config.max_body)
    chunks: list[bytes] = []
    size = 0
    with anyio.fail_after(config.body_timeout_s):
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.max_body:
                raise _TooLarge(config.max_body)
            chunks.append(chunk)
    return b"".join(chunks)


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than this server's limit of {limit} bytes.")


def _wire(value: Any, status: int = 200) -> Response:
    return Response(dumps(value), status_code=status, media_type=WIRE_TYPE)


def error_response(e: BaseException) -> Response:
    """An error as ``{"error": class name, "message": ...}`` with its HTTP status."""
    status, name = 500, "StorageError"
    if isinstance(e, AccessDenied):
        status, name = e.status, "AccessDenied"
    elif isinstance(e, WireError):
        status, name = 400, "WireError"
    elif isinstance(e, _TooLarge):
        status, name = 413, "WireError"
    elif isinstance(e, TimeoutError):
        status, name = 408, "WireError"
    elif isinstance(e, ForkParentNotFound):
        status, name = 404, "ForkParentNotFound"
    elif isinstance(e, LockTimeout):
        status, name = 409, "LockTimeout"
    elif isinstance(e, SchemaVersionError):
        status, name = 500, "SchemaVersionError"
    elif isinstance(e, StorageError):
        status = 503 if unreachable(e) else 422
    else:
        log.exception("naiad server: internal error", exc_info=e)
        return JSONResponse({"error": "StorageError", "message": f"internal server error: {e!r}"}, 500)
    return JSONResponse({"error": name, "message": str(e)}, status)


Endpoint = Callable[[Request], Awaitable[Response]]


def _answers_errors(endpoint: Endpoint) -> Endpoint:
    """Errors become JSON answers here (not in Starlette's error middleware, which re-raises
    them and drops the kept-alive connection)."""

    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as e:
            return error_response(e)

    return wrapped


def create_app(config: Config | None = None) -> Starlette:
    """The app over ``config`` (default: from ``NAIAD_SERVER_*``, as ``--workers`` passes it
    to each worker process, which then logs its own requests to stderr)."""
    if config is None:
        log_to_stderr()
    server = Server(config or Config.from_env())

    async def healthz(request: Request) -> Response:
        def check() -> int:
            with server.pool.handle() as store:
                return store.schema_version()

        try:
            version = await run_in_threadpool(check)
        except StorageError as e:
            return JSONResponse({"ok": False, "error": str(e)}, 503)
        return JSONResponse({"ok": True, "schema_version": version})

    async def call(request: Request) -> Response:
        method = request.path_params["method"]
        result = await server.run(
            request, lambda store, caller, args: _rpc.call(store, server.projects, caller, method, args or {})
        )
        return _wire(result)

    async def batch(request: Request) -> Response:
        warnings, applied = await server.run(
            request, lambda store, caller, raw: _rpc.write_batch(store, server.projects, caller, raw)
        )
        if applied and server.drop_every:
            server.applied += 1
            if server.applied % server.drop_every == 0:
                return _Dropped()
        return _wire({"warnings": warnings, "applied": applied})

    async def changes(request: Request) -> Response:
        def check(store: PostgresStore, caller: _auth.Caller, raw: Any) -> Any:
            if not isinstance(raw, dict) or not isinstance(raw.get("since"), (str, type(None))):
                raise WireError("a wait for changes names since (a token or null) and timeout")
            timeout = raw.get("timeout")
            if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
                raise WireError("timeout must be a number of seconds")
            return raw["since"], min(max(float(timeout), 0.0), 25.0)

        since, timeout = await server.run(request, check)  # the pooled handle is back before waiting
        return _wire(await run_in_threadpool(server.wait_for_changes, since, timeout))

    async def blob_upload(request: Request) -> Response:
        def work(store: PostgresStore, caller: _auth.Caller, raw: Any) -> Any:
            if not caller.rights or not any(level == "write" for level in caller.rights.values()):
                raise AccessDenied(f"Token {caller.token_id} may not upload files (no write right).", 403)
            if not isinstance(raw, dict) or not _SHA.match(str(raw.get("sha256"))):
                raise WireError("an upload names its sha256 (64 hex digits) and size")
            size = raw.get("size")
            if not isinstance(size, int) or not 0 <= size <= 5 << 30:
                raise WireError("an upload's size must be 0 to 5 GiB (one presigned PUT)")
            sha = str(raw["sha256"])
            if server.pool.blobs.exists(sha):
                return {"present": True}
            url, headers = presign_put(server.pool.blobs, sha, server.config.presign_s)
            return {"present": False, "url": url, "headers": headers}

        return _wire(await server.run(request, work))

    async def blob_get(request: Request) -> Response:
        sha = request.path_params["sha"]

        def work(store: PostgresStore, caller: _auth.Caller, raw: Any) -> Any:
            if not caller.rights:
                raise AccessDenied(f"Token {caller.token_id} may not read files.", 403)
            if not _SHA.match(sha):
                raise WireError(f"Not a sha256 blob key: {sha!r}.")
            if not server.pool.blobs.exists(sha):
                return {"present": False}
            return {"present": True, "url": server.pool.blobs.presign(sha, server.config.presign_s)}

        return _wire(await server.run(request, work))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(server.close)

    app = Starlette(
        routes=[
            Route("/healthz", _answers_errors(healthz)),
            Route("/api/v1/call/{method}", _answers_errors(call), methods=["POST"]),
            Route("/api/v1/batch", _answers_errors(batch), methods=["POST"]),
            Route("/api/v1/changes", _answers_errors(changes), methods=["POST"]),
            Route("/api/v1/blobs/upload", _answers_errors(blob_upload), methods=["POST"]),
            Route("/api/v1/blobs/{sha}", _answers_errors(blob_get)),
            *_ui.routes(server),  # the web UI, behind the same tokens
        ],
        lifespan=lifespan,
    )
    app.state.server = server
    return AccessLog(app)  # type: ignore[return-value]


def log_to_stderr() -> None:
    """The access log (logger ``naiad.server``) to stderr: for the ``naiad server`` process
    only, never on import."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def presign_put(blobs: S3Blobs, sha: str, expires_s: int) -> tuple[str, dict[str, str]]:
    """A presigned PUT of the blob ``sha``; S3 checks the content against the sha256."""
    import base64

    checksum = base64.b64encode(bytes.fromhex(sha)).decode()
    params = {
        "Bucket": blobs.bucket,
        "Key": blobs.key(sha),
        "ContentType": "application/octet-stream",
        "ChecksumSHA256": checksum,
    }
    url = blobs.client().generate_presigned_url("put_object", Params=params, ExpiresIn=expires_s)
    return str(url), {"Content-Type": "application/octet-stream", "x-amz-checksum-sha256": checksum}


class _Dropped(Response):
    """Tests only: the batch is committed, then the connection closes before the answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
        raise _DroppedAck


class _DroppedAck(Exception):
    pass


class AccessLog:
    """One JSON line per request: method, path (no query), status, time, token id, client.

    The ``Authorization`` header (the token's secret) is never read here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client") or ("", 0)
            entry = {
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "ms": round((time.perf_counter() - start) * 1000, 1),
                "token": scope.get("state", {}).get("token_id"),
                "client": client[0],
            }
            log.info(json.dumps(entry))
