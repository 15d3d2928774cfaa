"""The HTTP server: a JSON API and the static page, on the standard library alone.

Each connection gets a thread that only reads the request (its head must arrive within
``HEAD_DEADLINE_S``) and writes the answer; the store work runs on a fixed pool of workers, so
the store keeps a bounded number of SQLite connections and a slow client never holds one.
Every request passes the :class:`~naiad._ui._security.Guard` first; every response forbids
framing and foreign scripts.

``/api/changes?since=TOKEN&wait=SECONDS`` answers ``{"token": ...}`` once the store's runs
changed after ``TOKEN`` was handed out (or after ``wait`` seconds, at most
``CHANGES_MAX_WAIT_S``): a page long-polls it and re-reads only when the token moved, instead
of re-reading on a timer. It waits on the connection's own thread, never on a pool worker.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import mimetypes
import socket
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from .._storage import RunStore
from ..errors import FieldNotFound, FilterSyntaxError, NaiadError, RunNotFound
from . import _data, _groups, _media, _series, _table, _views
from ._security import Guard, Verdict

STATIC = Path(__file__).parent / "static"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEAD_DEADLINE_S = 10.0  # time a client has to send its whole request line and headers
MAX_CONNECTIONS = 256  # open connections at once; each is a thread that only reads and writes
_MAX_INT = 2**62  # SQLite integers are int64; a larger limit/offset is a client error
_PAGES = {"/": "index.html", "/index.html": "index.html"}
CHANGES_MAX_WAIT_S = 25.0  # under common proxies' idle limits; the page simply asks again


class ApiError(Exception):
    """An error answered as JSON ``{"error": message, ...}`` with an HTTP status."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.extra = status, extra


class App:
    """The store and project a server shows, plus its guard."""

    def __init__(self, store: RunStore, project: str, guard: Guard) -> None:
        self.store, self.project, self.guard = store, project, guard
        self.static = {p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file()}

    def projects(self) -> list[str]:
        return self.store.projects()

    def table(self, q: dict[str, list[str]], project: str, paged: bool = True) -> dict[str, Any]:
        """``/api/runs``: a page of the runs table (``col`` repeated, or ``columns`` as typed)."""
        return _table.runs_table(
            self.store,
            project,
            heads=_one(q, "heads", "1") == "1",
            filter=_one(q, "filter"),
            columns=[c for c in q["col"] if c] if "col" in q else _table.parse_columns(_one(q, "columns")),
            sort=_one(q, "sort"),
            ascending=_one(q, "asc", "0") == "1",
            offset=(_int(q, "offset", 0) or 0) if paged else 0,
            limit=_int(q, "limit", None) if paged else None,
            runs=q.get("run"),
            with_total=_one(q, "total", "1") == "1",  # total=0: the page counts apart, after drawing
        )

    # -- API -------------------------------------------------------------------------------------
    def api(self, route: str, q: dict[str, list[str]]) -> Any:
        project = _one(q, "project") or self.project
        store = self.store
        if route == "info":
            return {
                "project": project,
                "projects": self.projects(),
                "store": store.uri,
                "version": _version(),
            }
        if route == "runs":
            return self.table(q, project)
        if route == "count":
            heads = _one(q, "heads", "1") == "1"
            return {"total": _table.count(store, project, heads, _one(q, "filter") or None)}
        if route == "columns":
            return {"columns": _data.column_paths(store, project)}
        if route == "paths":
            records = [_data.find(store, project, r) for r in q.get("run", [])]
            return {"paths": _series.series_paths(store, records, _one(q, "lineage", "1") == "1")}
        if route == "series":
            return _series.chart(
                store,
                project,
                q.get("run", []),
                q.get("path", []),
                stitch=_one(q, "lineage", "1") == "1",
                x="time" if _one(q, "x") == "time" else "step",
                width=_int(q, "width", 1000) or 1000,
                step_from=_float(q, "from"),
                step_to=_float(q, "to"),
                since=_floats(q, "since"),
                pack=_one(q, "pack") == "1",
            )
        if route == "run":
            return _data.run_detail(store, project, _need(q, "id"))
        if route == "strings":
            return _data.string_series(
                store,
                project,
                _need(q, "id"),
                _need(q, "path"),
                tail=_int(q, "tail", 1000) or 1000,
                since=_float(q, "since"),
            )
        if route == "compare":
            return _data.compare(store, project, q.get("run", []))
        if route == "media":
            return {"media": _media.media_of(store, project, _need(q, "id"))}
        if route == "gallery":
            return _media.gallery(store, project, q.get("run", []))
        if route == "histograms":
            return _media.histograms(store, project, _need(q, "id"), _need(q, "path"))
        if route == "groups":
            return _groups.grouped(
                store,
                project,
                q.get("run", []),
                _need(q, "path"),
                _need(q, "by"),
                stitch=_one(q, "lineage", "1") == "1",
                width=_int(q, "width", 300) or 300,
                step_from=_float(q, "from"),
                step_to=_float(q, "to"),
            )
        if route == "views":
            return {"views": _views.list_views(store, project)}
        raise ApiError(404, f"No API endpoint '/api/{route}'.")


def _one(q: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    values = q.get(key)
    return values[-1] if values else default


def _need(q: dict[str, list[str]], key: str) -> str:
    value = _one(q, key)
    if not value:
        raise ApiError(400, f"Missing the query parameter '{key}'.")
    return value


def _int(q: dict[str, list[str]], key: str, default: int | None) -> int | None:
    value = _one(q, key)
    try:
        number = default if value is None or value == "" else int(value)
    except ValueError:
        raise ApiError(400, f"Query parameter '{key}' must be an integer, not {value!r}.") from None
    if number is not None and not 0 <= number <= _MAX_INT:
        raise ApiError(400, f"Query parameter '{key}' must be between 0 and {_MAX_INT}, not {value!r}.")
    return number


def _float(q: dict[str, list[str]], key: str) -> float | None:
    value = _one(q, key)
    try:
        return None if value is None or value == "" else float(value)
    except ValueError:
        raise ApiError(400, f"Query parameter '{key}' must be a number, not {value!r}.") from None


def _floats(q: dict[str, list[str]], key: str) -> list[float | None] | None:
    values = q.get(key)
    if not values:
        return None
    try:
        return [None if v == "" else float(v) for v in values]
    except ValueError:
        raise ApiError(400, f"Query parameter '{key}' takes numbers, not {values!r}.") from None


def _version() -> str:
    from .. import __version__

    return __version__


class Handler(http.server.BaseHTTPRequestHandler):
    """One request: check it, then route it to the API, a file download, or a static file."""

    server: Server
    server_version = "naiad-ui"
    timeout = 30  # an idle client must not hold a worker forever

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def setup(self) -> None:
        super().setup()
        # the whole request head must arrive by HEAD_DEADLINE_S: a client trickling one byte at
        # a time resets a per-read timeout forever, so a timer cuts the connection instead
        self._head_done = False
        self._deadline = threading.Timer(HEAD_DEADLINE_S, self._expire)
        self._deadline.daemon = True
        self._deadline.start()

    def _expire(self) -> None:
        if not self._head_done:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._deadline.cancel()
        super().finish()

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._head_done = True
        self._deadline.cancel()
        if urlsplit(self.path).path == "/api/changes":  # a long wait that holds no store connection
            self._changes()
            return
        # the store work runs on the fixed pool (bounded SQLite connections); reading the
        # request ran on this connection's own thread, so slow clients never hold a worker
        self.server.pool.submit(self._get).result()

    def _guarded(self) -> tuple[Verdict, dict[str, list[str]]] | None:
        """(the guard's verdict, the query) of an allowed request; None once refused."""
        q = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        verdict = self.server.app.guard.check(self.headers, q)  # type: ignore[arg-type]
        if not verdict.ok:
            self._send(verdict.status, verdict.reason.encode(), "text/plain; charset=utf-8")
            return None
        return verdict, q

    def _changes(self) -> None:
        checked = self._guarded()
        if checked is None:
            return
        q = checked[1]
        try:
            wait = min(_float(q, "wait") or 0.0, CHANGES_MAX_WAIT_S)
            token = self.server.app.store.wait_for_changes(_one(q, "since") or None, max(wait, 0.0))
            self._send(200, json.dumps({"token": token}).encode(), "application/json")
        except ApiError as e:
            self._json_error(e.status, str(e), e.extra)
        except NaiadError as e:
            self._json_error(503, str(e), {})

    def _get(self) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        checked = self._guarded()
        if checked is None:
            return
        verdict, q = checked
        cookie = None
        if verdict.set_cookie:
            cookie = f"{app.guard.cookie}={app.guard.token}; HttpOnly; SameSite=Strict; Path=/"
            if not url.path.startswith("/api/"):  # drop the token from the address bar
                self._send(303, b"", "text/plain", {"Location": "/", "Set-Cookie": cookie})
                return
        try:
            if url.path == "/api/file":
                self._file(q, cookie)
            elif url.path == "/api/image":
                self._image(q, cookie)
            elif url.path == "/api/runs.csv":
                self._csv(q, cookie)
            elif url.path.startswith("/api/"):
                body = json.dumps(app.api(url.path[5:], q), allow_nan=False, separators=(",", ":")).encode()
                self._send(200, body, "application/json", {"Set-Cookie": cookie})
            else:
                self._static(url.path)
        except ApiError as e:
            self._json_error(e.status, str(e), e.extra)
        except FilterSyntaxError as e:
            self._json_error(400, str(e), {"column": e.column, "text": e.text, "kind": "filter"})
        except (RunNotFound, FieldNotFound) as e:
            self._json_error(404, str(e).strip("'\""), {})
        except (NaiadError, ValueError) as e:
            self._json_error(400, str(e), {})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # the page shows the message; the terminal keeps the traceback
            traceback.print_exc(file=sys.stderr)
            self._json_error(500, f"{type(e).__name__}: {e}", {})

    def do_POST(self) -> None:
        """Only saving a named view writes anything; the store's data stay read-only."""
        self._head_done = True
        app = self.server.app
        url = urlsplit(self.path)
        checked = self._guarded()
        if checked is None:
            return
        q = checked[1]
        if url.path != "/api/views":
            self._send(405, b"naiad ui is read-only.", "text/plain; charset=utf-8")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= 64 * 1024 or "json" not in (self.headers.get("Content-Type") or ""):
                raise ApiError(400, "Send the view as a JSON body of at most 64 KiB.")
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict) or not isinstance(body.get("name"), str):
                raise ApiError(400, 'Send {"name": ..., "url": ...} (url null deletes the view).')
            url_ = body.get("url")
            views = _views.save_view(
                app.store,
                _one(q, "project") or app.project,
                body["name"],
                url_ if isinstance(url_, str) else None,
            )
            self._send(200, json.dumps({"views": views}).encode(), "application/json")
        except ApiError as e:
            self._json_error(e.status, str(e), e.extra)
        except (NaiadError, ValueError) as e:
            self._json_error(400, str(e), {})

    def _image(self, q: dict[str, list[str]], cookie: str | None) -> None:
        """An image file inline, typed by its first bytes; anything else is refused (415)."""
        app = self.server.app
        project = _one(q, "project") or app.project
        sha, _, _size = _data.file_blob(
            app.store, project, _need(q, "id"), _need(q, "path"), _float(q, "step")
        )
        with app.store.blobs.open(sha) as src:
            body = src.read(_media.MAX_IMAGE_BYTES + 1)
        ctype = _media.image_type(body[:16])
        if ctype is None or len(body) > _media.MAX_IMAGE_BYTES:
            raise ApiError(415, "Not an image the page shows inline (PNG, JPEG, GIF, WebP up to 32 MB).")
        self._send(200, body, ctype, {"Set-Cookie": cookie, "Content-Disposition": "inline"})

    def _csv(self, q: dict[str, list[str]], cookie: str | None) -> None:
        """The runs table as shown (every row that matches, the columns on screen) as CSV."""
        app = self.server.app
        project = _one(q, "project") or app.project
        table = app.table(q, project, paged=False)
        name = f"naiad-{project}-{'experiments' if _one(q, 'heads', '1') == '1' else 'runs'}.csv"
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        self._send(
            200,
            _table.table_csv(table, _one(q, "heads", "1") == "1"),
            "text/csv; charset=utf-8",
            {"Set-Cookie": cookie, "Content-Disposition": f'attachment; filename="{safe}"'},
        )

    def _json_error(self, status: int, message: str, extra: dict[str, Any]) -> None:
        body = json.dumps({"error": message, **extra}).encode()
        self._send(status, body, "application/json")

    def _file(self, q: dict[str, list[str]], cookie: str | None) -> None:
        app = self.server.app
        project = _one(q, "project") or app.project
        sha, name, size = _data.file_blob(
            app.store, project, _need(q, "id"), _need(q, "path"), _float(q, "step")
        )
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
        disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
        with app.store.blobs.open(sha) as src:
            self.send_response(200)
            self._common_headers(
                "application/octet-stream", size, {"Content-Disposition": disposition, "Set-Cookie": cookie}
            )
            self.end_headers()
            if self.command != "HEAD":
                while block := src.read(1 << 20):
                    self.wfile.write(block)

    def _static(self, path: str) -> None:
        name = _PAGES.get(path) or path.lstrip("/")
        file = self.server.app.static.get(name)  # only files that exist in static/: no traversal
        if file is None:
            self._send(404, b"Not found.", "text/plain; charset=utf-8")
            return
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        self._send(200, file.read_bytes(), ctype)

    def _common_headers(self, ctype: str, length: int, extra: dict[str, str | None] | None) -> None:
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", _CSP)
        for key, value in (extra or {}).items():
            if value is not None:
                self.send_header(key, value)

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str | None] | None = None) -> None:
        try:
            self.send_response(status)
            self._common_headers(ctype, len(body), extra)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(http.server.HTTPServer):
    """``HTTPServer`` whose requests run on a fixed pool of threads."""

    app: App
    url: str = ""

    def __init__(self, address: tuple[str, int], workers: int = 8, verbose: bool = False) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.verbose = verbose
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="naiad-ui")
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):  # full: refuse at once rather than queue forever
            self.shutdown_request(request)
            return
        threading.Thread(
            target=self._work, args=(request, client_address), name="naiad-ui-conn", daemon=True
        ).start()

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=True, cancel_futures=True)
        app = getattr(self, "app", None)  # absent when binding the port failed
        if app is not None:
            app.store.close()
