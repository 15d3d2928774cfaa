"""``naiad server``: serve a team store over HTTP; ``naiad server token create|list|revoke``."""

from __future__ import annotations

import argparse
import time
from typing import Any

from . import CommandError, settings


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    server = commands.add_parser(
        "server",
        parents=[common],
        help="serve a team store (PostgreSQL + S3) over HTTP, with tokens",
        description="Serve the store given by --store (postgresql://...) with its files in "
        "--blobs (s3://BUCKET/PREFIX) to clients that open store='http://HOST:PORT' with a "
        "token. Binds 127.0.0.1 unless --host says otherwise; put TLS in a reverse proxy in "
        "front. `naiad server token ...` manages the tokens.",
    )
    server.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    server.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    server.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    server.add_argument(
        "--connections", type=int, default=8, help="database connections per worker (default: 8)"
    )
    server.add_argument(
        "--max-body-mb", type=float, default=64.0, help="largest request body in MiB (default: 64)"
    )
    server.set_defaults(handler=cmd_serve)
    tokens = server.add_subparsers(dest="token_command", metavar="token")
    token = tokens.add_parser("token", help="create, list or revoke tokens")
    actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        parents=[common],
        help="create a token (shown once)",
        description="Create a token for a user or service account, with read or write rights per "
        "project ('*' for every project); the token is printed once and stored only as a hash.",
    )
    create.add_argument("--holder", required=True, help="who holds it: a user or service account name")
    create.add_argument("--read", action="append", default=[], metavar="PROJECT", help="read right (repeat)")
    create.add_argument(
        "--write", action="append", default=[], metavar="PROJECT", help="write right (repeat)"
    )
    create.set_defaults(handler=cmd_token_create)
    listing = actions.add_parser("list", parents=[common], help="list tokens (never their secrets)")
    listing.set_defaults(handler=cmd_token_list)
    revoke = actions.add_parser("revoke", parents=[common], help="revoke a token at once")
    revoke.add_argument("token_id", metavar="TOKEN_ID", help="the id shown by `naiad server token list`")
    revoke.set_defaults(handler=cmd_token_revoke)


def _team_store(args: argparse.Namespace) -> Any:
    from .._storage._postgres import PostgresStore
    from .._storage._postgres_server import ensure_tables

    s = settings(args)
    if not s.store.startswith(("postgresql://", "postgres://")):
        raise CommandError(
            "naiad server serves a team store: pass --store postgresql://USER:PASS@HOST/DB "
            f"(got {s.store!r})."
        )
    store = PostgresStore(s.store, create=True, blobs=s.blobs)
    ensure_tables(store)
    return store


def cmd_serve(args: argparse.Namespace) -> int:
    from .._server import Config, serve

    s = settings(args)
    if not s.store.startswith(("postgresql://", "postgres://")):
        raise CommandError(
            "naiad server serves a team store: pass --store postgresql://USER:PASS@HOST/DB "
            f"(got {s.store!r})."
        )
    if args.workers < 1 or args.connections < 1:
        raise CommandError("--workers and --connections must be at least 1.")
    config = Config(
        store=s.store,
        blobs=s.blobs,
        connections=args.connections,
        max_body=int(args.max_body_mb * (1 << 20)),
    )
    serve(config, host=args.host, port=args.port, workers=args.workers)
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from .._server import _auth

    rights = _auth.parse_rights(args.read, args.write)
    store = _team_store(args)
    try:
        token_id, token = _auth.create(store, args.holder, rights)
    finally:
        store.close()
    granted = ", ".join(f"{level} {project}" for project, level in sorted(rights.items()))
    print(token)
    import sys

    sys.stderr.write(f"naiad: token {token_id} for {args.holder} ({granted}); it is shown only this once.\n")
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from .._storage._postgres_server import tokens

    store = _team_store(args)
    try:
        rows = tokens(store)
    finally:
        store.close()
    for row in rows:
        rights = ",".join(f"{level}:{project}" for project, level in sorted(row.rights.items()))
        created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(row.created))
        state = (
            "active"
            if row.revoked is None
            else "revoked " + time.strftime("%Y-%m-%d %H:%M", time.gmtime(row.revoked))
        )
        print(f"{row.id}\t{row.holder}\t{rights}\t{created}\t{state}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from .._storage._postgres_server import revoke

    store = _team_store(args)
    try:
        if not revoke(store, args.token_id, time.time()):
            raise CommandError(f"No active token {args.token_id!r}: see `naiad server token list`.")
    finally:
        store.close()
    print(f"revoked {args.token_id}")
    return 0
