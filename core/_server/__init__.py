"""``naiad server``: one HTTP endpoint for a team, in front of the PostgreSQL store and S3.

Clients open ``store="http://HOST:PORT"`` (:class:`naiad._storage._http.HttpStore`) and hold
only a naiad token; the server holds the database URI and the S3 keys. It is stateless:
replicas behind a load balancer share the database and the bucket (tokens, and the batch
sequence numbers that make each write apply once, live in the database too).

Example:
    $ naiad server --store postgresql://naiad:secret@db/team --blobs s3://team-bucket/naiad
"""

from __future__ import annotations

import os

from ._app import Config, create_app, log_to_stderr

__all__ = ["Config", "create_app", "serve"]


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> None:
    """Serve until SIGINT/SIGTERM (graceful: requests in flight finish, up to 30 s)."""
    import uvicorn

    common = {
        "host": host,
        "port": port,
        "access_log": False,  # ours (naiad.server) logs without the query string or the token
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": 30,
        "limit_concurrency": 2048,
        "server_header": False,
    }
    if workers > 1:
        os.environ.update(config.to_env())  # each worker process builds its app from these
        uvicorn.run("naiad._server._app:create_app", factory=True, workers=workers, **common)  # type: ignore[arg-type]
    else:
        log_to_stderr()
        uvicorn.run(create_app(config), **common)  # type: ignore[arg-type]
