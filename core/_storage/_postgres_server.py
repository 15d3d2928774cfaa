"""What ``naiad server`` keeps in the team store's database besides runs: tokens and batch
sequence numbers. Outside the :class:`~._protocol.RunStore` seam on purpose: only the server
uses them, and a store written without a server never has these tables.

The tables sit in the store's PostgreSQL schema, created on the server's first start under
their own version key (``server_schema_version`` in ``meta``), so the store's own migrations
stay untouched:

- ``server_tokens``: one row per token: its id (public), who holds it, the sha256 of its
  secret (never the secret), when it was created and revoked; ``server_rights`` holds its
  ``read``/``write`` right per project (``*``: every project).
- ``server_writers``: per client writer, the last batch sequence number applied. A batch is
  applied in the transaction that moves ``last_seq`` past its number, so a retry after a lost
  answer changes nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import StorageError
from ._records import Heartbeat, Op

if TYPE_CHECKING:
    import psycopg

    from ._postgres import PostgresStore

SERVER_SCHEMA_VERSION = 1
_LOCK = 0x6E61696164 + 1  # one process creating the server tables at a time

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE IF NOT EXISTS server_tokens(
            id text PRIMARY KEY,
            holder text NOT NULL,
            secret_sha256 text NOT NULL,
            created double precision NOT NULL,
            revoked double precision
        )""",
        """CREATE TABLE IF NOT EXISTS server_rights(
            token_id text NOT NULL REFERENCES server_tokens(id) ON DELETE CASCADE,
            project text NOT NULL,
            level text NOT NULL CHECK (level IN ('read', 'write')),
            PRIMARY KEY(token_id, project)
        )""",
        """CREATE TABLE IF NOT EXISTS server_writers(
            writer text PRIMARY KEY,
            last_seq bigint NOT NULL,
            seen double precision NOT NULL
        )""",
    ),
}

_CLAIM = (
    "INSERT INTO server_writers(writer, last_seq, seen) VALUES (%s, %s, %s) "
    "ON CONFLICT (writer) DO UPDATE SET last_seq = excluded.last_seq, seen = excluded.seen "
    "WHERE server_writers.last_seq < excluded.last_seq RETURNING last_seq"
)


@dataclasses.dataclass(frozen=True)
class TokenRow:
    """A token as the database keeps it (the secret only as its sha256)."""

    id: str
    holder: str
    secret_sha256: str
    created: float
    revoked: float | None
    rights: dict[str, str]  # project (or "*") → "read" | "write"


def ensure_tables(store: PostgresStore) -> None:
    """Create (or bring up to date) the server's tables in the store's schema."""

    def migrate(conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
            row = conn.execute("SELECT value FROM meta WHERE key = 'server_schema_version'").fetchone()
            version = 0 if row is None else int(row[0])
            if version > SERVER_SCHEMA_VERSION:
                raise StorageError(
                    f"The store {store.uri} has server tables of version {version}; this naiad "
                    f"understands {SERVER_SCHEMA_VERSION}. Upgrade naiad on the server."
                )
            for target in range(version + 1, SERVER_SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)  # trusted DDL, no values
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('server_schema_version', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [str(target)],
                )

    store._retry(migrate)


def write_batch_once(
    store: PostgresStore,
    writer: str,
    seq: int,
    run_pk: int,
    ops: Sequence[Op],
    heartbeat: Heartbeat | None,
    patience: float | None = None,
) -> list[str] | None:
    """Apply batch ``seq`` of ``writer`` unless it was applied before; None when it was.

    The claim of the sequence number and the batch are one transaction: either both are
    durable or neither is.
    """

    def apply(conn: psycopg.Connection[Any]) -> list[str] | None:
        if conn.execute(_CLAIM, [writer, seq, time.time()]).fetchone() is None:
            return None
        return store._apply(conn, run_pk, ops, heartbeat)

    return store._tx(apply, patience)


def session_run(store: PostgresStore, session: int) -> int | None:
    """The run a session belongs to (None: no such session)."""
    row = store._retry(lambda c: c.execute("SELECT run_id FROM sessions WHERE id = %s", [session]).fetchone())
    return None if row is None else int(row[0])


def insert_token(store: PostgresStore, row: TokenRow) -> None:
    def write(conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            "INSERT INTO server_tokens(id, holder, secret_sha256, created) VALUES (%s, %s, %s, %s)",
            [row.id, row.holder, row.secret_sha256, row.created],
        )
        for project, level in row.rights.items():
            conn.execute(
                "INSERT INTO server_rights(token_id, project, level) VALUES (%s, %s, %s)",
                [row.id, project, level],
            )

    store._tx(write)


def tokens(store: PostgresStore, token_id: str | None = None) -> list[TokenRow]:
    """Every token (or the one with ``token_id``), oldest first."""

    def read(conn: psycopg.Connection[Any]) -> list[TokenRow]:
        where, params = ("WHERE t.id = %s", [token_id]) if token_id is not None else ("", [])
        rows = conn.execute(
            "SELECT t.id, t.holder, t.secret_sha256, t.created, t.revoked, r.project, r.level "
            f"FROM server_tokens t LEFT JOIN server_rights r ON r.token_id = t.id {where} "
            "ORDER BY t.created, t.id, r.project",
            params,
        ).fetchall()
        out: dict[str, TokenRow] = {}
        for tid, holder, digest, created, revoked, project, level in rows:
            row = out.get(tid)
            if row is None:
                row = out[tid] = TokenRow(tid, holder, digest, created, revoked, {})
            if project is not None:
                row.rights[project] = level
        return list(out.values())

    return store._retry(read)


def revoke(store: PostgresStore, token_id: str, now: float) -> bool:
    """Revoke a token; False when there is no such token (or it was revoked already)."""
    row = store._tx(
        lambda c: c.execute(
            "UPDATE server_tokens SET revoked = %s WHERE id = %s AND revoked IS NULL RETURNING id",
            [now, token_id],
        ).fetchone()
    )
    return row is not None
