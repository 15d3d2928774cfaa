"""The web UI of ``naiad ui`` served by ``naiad server``, behind the same tokens, plus live
updates by server-sent events.

The page and its JSON API are the UI's own (:mod:`naiad._ui`); here they read through a
:class:`~._rpc.CheckedStore`, so a page shows only the projects its token may read. A browser
brings the token once as ``/?token=naiad_...``: it is kept in an ``HttpOnly``,
``SameSite=Strict`` cookie and dropped from the address bar. Requests from another site's page
(``Origin`` / ``Sec-Fetch-Site``) are refused. File downloads are redirects to presigned S3
URLs; images (at most 32 MB, shown inline under the page's CSP) are relayed.

``/api/events`` streams ``data: {"run": ..., "project": ...}`` whenever a run the token may read
changes: the worker process's one ``LISTEN naiad_runs`` connection (the long-poll's too) feeds
every open stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from .._storage._http import CHANGES_MAX_WAIT_S
from .._ui import _data, _media, _table, _views
from .._ui._security import _FETCH_SITES_OK, _same_origin
from .._ui._server import _CSP, STATIC, ApiError, App, _float, _need, _one
from ..errors import AccessDenied, FieldNotFound, FilterSyntaxError, NaiadError, RunNotFound
from . import _auth, _rpc

if TYPE_CHECKING:
    from ._app import Server

COOKIE = "naiad_server_token"
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": _CSP,
}
_PAGES = {"/": "index.html", "/index.html": "index.html"}
_STATIC = {p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file()}


def _refused(request: Request) -> str | None:
    """Why a request from a browser is refused (another site's page), or None."""
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if origin is not None and not _same_origin(origin, host):
        return (
            f"Requests from the origin {origin!r} are refused: only the page this server serves may call it."
        )
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in _FETCH_SITES_OK:
        return f"A {site} request is refused: only the page this server serves may call it."
    return None


def _token_header(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        return header
    token = request.cookies.get(COOKIE) or request.query_params.get("token")
    return f"Bearer {token}" if token else None


def _json(status: int, value: Any) -> Response:
    body = json.dumps(value, allow_nan=False, separators=(",", ":"))
    return Response(body, status, headers=_HEADERS, media_type="application/json")


def routes(server: Server) -> list[Route]:
    """The UI's routes on ``server`` (after the API's, which take ``/api/v1/``)."""
    listener = Listener(server)

    def caller(request: Request) -> _auth.Caller:
        with server.pool.handle() as store:
            return server.caller(store, request, _token_header(request))

    async def guarded(request: Request, work: Callable[[_auth.Caller], Response]) -> Response:
        reason = _refused(request)
        if reason is not None:
            return Response(reason, 403, headers=_HEADERS, media_type="text/plain")
        from starlette.concurrency import run_in_threadpool

        try:
            who = await run_in_threadpool(caller, request)
            response = await run_in_threadpool(work, who)
        except AccessDenied as e:
            return _json(e.status, {"error": str(e)})
        if "token" in request.query_params and COOKIE not in request.cookies:
            token = request.query_params["token"]
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    def checked_app(store: Any, who: _auth.Caller, q: dict[str, list[str]]) -> App:
        from .._ui._security import Guard

        seen = _rpc.CheckedStore(store, server.projects, who)
        project = _one(q, "project") or next(iter(seen.projects()), "default")
        return App(seen, project, Guard())

    async def page(request: Request) -> Response:
        def work(who: _auth.Caller) -> Response:
            if "token" in request.query_params:  # remembered in the cookie: out of the address bar
                return RedirectResponse("/", 303)
            name = _PAGES.get(request.url.path) or request.url.path.lstrip("/")
            file = _STATIC.get(name)  # only files that exist in static/: no traversal
            if file is None:
                return Response("Not found.", 404, headers=_HEADERS, media_type="text/plain")
            ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            return Response(file.read_bytes(), headers=_HEADERS, media_type=ctype)

        return await guarded(request, work)

    async def api(request: Request) -> Response:
        route = request.path_params["route"]
        q = parse_qs(request.url.query, keep_blank_values=True)
        q.pop("token", None)

        def work(who: _auth.Caller) -> Response:
            with server.pool.handle() as store:
                app = checked_app(store, who, q)
                try:
                    return _answer(app, route, q)
                except ApiError as e:
                    return _json(e.status, {"error": str(e), **e.extra})
                except FilterSyntaxError as e:
                    return _json(400, {"error": str(e), "column": e.column, "text": e.text, "kind": "filter"})
                except AccessDenied as e:
                    return _json(e.status, {"error": str(e)})
                except (RunNotFound, FieldNotFound) as e:
                    return _json(404, {"error": str(e).strip("'\"")})
                except (NaiadError, ValueError) as e:
                    return _json(400, {"error": str(e)})

        return await guarded(request, work)

    def _answer(app: App, route: str, q: dict[str, list[str]]) -> Response:
        project = _one(q, "project") or app.project
        if route in ("file", "image"):
            sha, name, _ = _data.file_blob(
                app.store, project, _need(q, "id"), _need(q, "path"), _float(q, "step")
            )
            if route == "file":  # the bytes go from S3 to the browser, not through here
                return RedirectResponse(server.pool.blobs.presign(sha, server.config.presign_s, name), 303)
            with app.store.blobs.open(sha) as src:
                body = src.read(_media.MAX_IMAGE_BYTES + 1)
            ctype = _media.image_type(body[:16])
            if ctype is None or len(body) > _media.MAX_IMAGE_BYTES:
                raise ApiError(415, "Not an image the page shows inline (PNG, JPEG, GIF, WebP up to 32 MB).")
            return Response(body, headers={**_HEADERS, "Content-Disposition": "inline"}, media_type=ctype)
        if route == "runs.csv":
            table = app.table(q, project, paged=False)
            heads = _one(q, "heads", "1") == "1"
            name = f"naiad-{project}-{'experiments' if heads else 'runs'}.csv"
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
            disposition = {"Content-Disposition": f'attachment; filename="{safe}"'}
            return Response(
                _table.table_csv(table, heads), headers={**_HEADERS, **disposition}, media_type="text/csv"
            )
        return _json(200, app.api(route, q))

    async def changes(request: Request) -> Response:
        """``/api/changes?since=TOKEN&wait=SECONDS``: the page's long poll, holding no pooled
        connection while it waits."""
        from starlette.concurrency import run_in_threadpool

        q = parse_qs(request.url.query, keep_blank_values=True)
        guard = await guarded(request, lambda who: Response(status_code=204))
        if guard.status_code != 204:
            return guard
        try:
            wait = min(max(_float(q, "wait") or 0.0, 0.0), CHANGES_MAX_WAIT_S)
            token = await run_in_threadpool(server.wait_for_changes, _one(q, "since") or None, wait)
        except ApiError as e:
            return _json(e.status, {"error": str(e), **e.extra})
        except NaiadError as e:
            return _json(503, {"error": str(e)})
        return _json(200, {"token": token})

    async def save_view(request: Request) -> Response:
        """``POST /api/views`` ``{"name", "url"}`` (url null deletes): the one write of the UI."""
        q = parse_qs(request.url.query, keep_blank_values=True)
        raw = await request.body() if int(request.headers.get("content-length") or 0) <= 64 * 1024 else b""

        def work(who: _auth.Caller) -> Response:
            with server.pool.handle() as store:
                app = checked_app(store, who, q)
                try:
                    body = json.loads(raw) if raw else None
                    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
                        raise ApiError(400, 'Send {"name": ..., "url": ...} (url null deletes the view).')
                    url = body.get("url")
                    project = _one(q, "project") or app.project
                    views = _views.save_view(
                        app.store, project, body["name"], url if isinstance(url, str) else None
                    )
                    return _json(200, {"views": views})
                except ApiError as e:
                    return _json(e.status, {"error": str(e), **e.extra})
                except AccessDenied as e:
                    return _json(e.status, {"error": str(e)})
                except (NaiadError, ValueError) as e:
                    return _json(400, {"error": str(e)})

        return await guarded(request, work)

    async def events(request: Request) -> Response:
        def work(who: _auth.Caller) -> Response:
            return StreamingResponse(
                listener.stream(who),
                headers={**_HEADERS, "X-Accel-Buffering": "no"},
                media_type="text/event-stream",
            )

        return await guarded(request, work)

    return [
        Route("/api/events", events),
        Route("/api/changes", changes),
        Route("/api/views", save_view, methods=["POST"]),
        Route("/api/{route:path}", api),
        Route("/{path:path}", page),
    ]


class Listener:
    """The server's one listening handle (:meth:`Server.changes`), fanned out to every SSE
    stream."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._queues: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[int]]] = set()
        self._lock = threading.Lock()
        self._watching = False
        self._runs: dict[int, Any] = {}

    def _start(self) -> None:
        with self._lock:
            if not self._watching:
                self._server.changes().watch_runs(self._publish)
                self._watching = True

    def _publish(self, run_pk: int) -> None:
        with self._lock:
            queues = list(self._queues)
        for loop, q in queues:
            loop.call_soon_threadsafe(q.put_nowait, run_pk)

    async def stream(self, who: _auth.Caller) -> AsyncIterator[bytes]:
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(self._start)  # the first opens the listening handle: blocking
        q: asyncio.Queue[int] = asyncio.Queue()
        entry = (asyncio.get_running_loop(), q)
        with self._lock:
            self._queues.add(entry)
        try:
            yield b": naiad live updates\n\n"
            while True:
                try:
                    pk = await asyncio.wait_for(q.get(), 15.0)
                except asyncio.TimeoutError:
                    yield b": keep-alive\n\n"  # proxies close silent connections
                    continue

                def lookup(pk: int = pk) -> Any:
                    with self._server.pool.handle() as store:
                        return store.get_run(pk)

                with contextlib.suppress(NaiadError):
                    run = self._runs.get(pk)  # a run's ids and project never change
                    if run is None:
                        run = self._runs[pk] = await run_in_threadpool(lookup)
                    if who.may(run.project, "read"):
                        data = json.dumps(
                            {"run": run.custom_id, "sys_id": run.sys_id, "project": run.project}
                        )
                        yield f"data: {data}\n\n".encode()
        finally:
            with self._lock:
                self._queues.discard(entry)
