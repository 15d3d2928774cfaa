"""``naiad ui``: a local web app over a store — runs table, charts, run pages, compare, live.

The server is the standard library's ``http.server`` with a small JSON API; the page is plain
JavaScript with a vendored copy of uPlot. It listens on 127.0.0.1 unless told otherwise, and
any other interface requires a token.

Example:
    >>> from naiad._ui import serve
    >>> serve(store="./.naiad", port=8765)  # doctest: +SKIP
    naiad ui: http://127.0.0.1:8765/ (Ctrl+C to stop)
"""

from __future__ import annotations

import errno
import os
import secrets
import socket
import sys
import threading
import webbrowser
from typing import Any

from ._security import Guard, is_ip, is_loopback
from ._server import App, Server

__all__ = ["make_server", "serve", "start", "stop"]

DEFAULT_PORT = 8765


def make_server(
    store: str | os.PathLike[str] | None = None,
    project: str | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    verbose: bool = False,
) -> Server:
    """A bound, not yet serving, UI server (``server.url`` is the address to open).

    A token is generated when ``host`` is not a loopback address and none is given.
    """
    from .. import query  # noqa: F401 - imports pandas now, not during the first page load
    from .._settings import resolve
    from .._storage import open_store

    settings = resolve({"project": project, "store": None if store is None else os.fspath(store)})
    db = open_store(settings.store, create=False, blobs=settings.blobs)
    chosen = settings.project
    names = db.projects()
    if names and chosen not in names:
        chosen = names[0]  # a project the store has beats an empty page (the page can switch)
    if not token and not is_loopback(host):  # an empty token would match an empty token
        token = secrets.token_urlsafe(24)
    hosts = set()
    if not is_loopback(host):
        hosts |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        if host not in ("0.0.0.0", "::", "") and not is_ip(host):
            hosts.add(host.lower())
    try:
        server = Server((host, port), verbose=verbose)
    except OSError as e:
        db.close()
        if e.errno == errno.EADDRINUSE:
            raise OSError(
                e.errno,
                f"Port {port} on {host} is in use: pick another port "
                "(naiad ui --port N, or 0 for any free port).",
            ) from None
        raise
    except BaseException:
        db.close()
        raise
    bound_port = server.server_address[1]
    # cookies ignore ports: name the cookie after ours so that two servers do not clash
    server.app = App(db, chosen, Guard(token, frozenset(hosts), f"naiad_token_{bound_port}"))
    shown = host if host not in ("0.0.0.0", "::", "") else socket.gethostname()
    shown = f"[{shown}]" if ":" in shown else shown
    server.url = f"http://{shown}:{bound_port}/" + (f"?token={token}" if token else "")
    return server


def start(**kwargs: Any) -> Server:
    """Start a server on a background thread (tests, notebooks); stop it with ``stop(server)``."""
    server = make_server(**kwargs)
    thread = threading.Thread(target=server.serve_forever, name="naiad-ui-server", daemon=True)
    thread.start()
    server.thread = thread  # type: ignore[attr-defined]
    return server


def stop(server: Server) -> None:
    """Stop a server started with :func:`start` and close its store."""
    server.shutdown()
    server.server_close()
    thread = getattr(server, "thread", None)
    if thread is not None:
        thread.join(5)


def serve(
    store: str | os.PathLike[str] | None = None,
    project: str | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    open_browser: bool = False,
    verbose: bool = False,
) -> None:
    """Serve the UI until Ctrl+C. ``port=0`` picks a free port.

    Args:
        store: the store directory (default: settings, ``./.naiad``).
        project: the project shown first (default: settings, or the store's first project).
        host: interface to listen on; anything but loopback requires ``token``.
        port: TCP port.
        token: secret the browser must present; generated when needed and printed in the URL.
        open_browser: open the address in the default browser.
        verbose: log every request to stderr.
    """
    server = make_server(store=store, project=project, host=host, port=port, token=token, verbose=verbose)
    url = server.url
    print(
        f"naiad ui: {url} (store {server.app.store.uri}, project '{server.app.project}'; Ctrl+C to stop)",
        file=sys.stderr,
        flush=True,
    )
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
