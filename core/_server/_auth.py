"""Tokens: who may read or write which project through the server.

A token reads ``naiad_<id>_<secret>``. The id is public (it names the token in ``naiad server
token list`` and in access logs); the secret is 256 random bits, shown once at creation and
kept only as its sha256 (a slow hash buys nothing against a secret that cannot be guessed).
Every request looks its token up again, so a revoked token fails on its next request, on
every replica.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
import time

from .._storage import _postgres_server as tables
from .._storage._postgres import PostgresStore
from ..errors import AccessDenied

LEVELS = ("read", "write")
ALL_PROJECTS = "*"
_TOKEN = re.compile(r"^naiad_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who made a request, and what they may do."""

    token_id: str
    holder: str
    rights: dict[str, str]

    def may(self, project: str, level: str) -> bool:
        held = self.rights.get(project) or self.rights.get(ALL_PROJECTS)
        return held == "write" or (held == "read" and level == "read")

    def check(self, project: str, level: str) -> None:
        if not self.may(project, level):
            held = self.rights.get(project) or self.rights.get(ALL_PROJECTS)
            what = f"only {held} access" if held else "no access"
            raise AccessDenied(
                status=403,
                message=f"Token {self.token_id} ({self.holder}) has {what} to project '{project}'; this "
                f"call needs {level} access. Ask the server's admin for a token with "
                f"--{level} {project}.",
            )


def parse_rights(read: list[str], write: list[str]) -> dict[str, str]:
    """``--read``/``--write`` project lists as a rights map (write implies read)."""
    rights = {p: "read" for p in read}
    rights.update({p: "write" for p in write})
    for project in rights:
        if not project or len(project) > 256:
            raise ValueError(f"Project name {project!r} for a token right must be 1-256 characters.")
    if not rights:
        raise ValueError("A token needs at least one right: --read PROJECT or --write PROJECT ('*': all).")
    return rights


def create(store: PostgresStore, holder: str, rights: dict[str, str]) -> tuple[str, str]:
    """A new token for ``holder``: (its id, the whole token, to hand over once)."""
    if not holder.strip():
        raise ValueError("A token needs a holder: --holder NAME (a user or a service account).")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    tables.insert_token(
        store, tables.TokenRow(token_id, holder, _digest(secret), time.time(), None, dict(rights))
    )
    return token_id, f"naiad_{token_id}_{secret}"


def authenticate(store: PostgresStore, header: str | None) -> Caller:
    """The caller of a request with ``Authorization: header``; AuthError (401) otherwise."""
    if not header:
        raise AccessDenied(
            status=401,
            message="This naiad server needs a token: pass token= to naiad.Run, set NAIAD_TOKEN, or put "
            "it in ~/.config/naiad/credentials (create one with `naiad server token create`).",
        )
    scheme, _, value = header.partition(" ")
    match = _TOKEN.match(value.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise AccessDenied(
            status=401, message="The token is malformed: a naiad token reads naiad_<id>_<secret>."
        )
    token_id, secret = match.groups()
    found = tables.tokens(store, token_id)
    if not found or not hmac.compare_digest(found[0].secret_sha256, _digest(secret)):
        raise AccessDenied(
            status=401, message=f"Token {token_id} is not known to this server (wrong or deleted token)."
        )
    row = found[0]
    if row.revoked is not None:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(row.revoked))
        raise AccessDenied(
            status=401, message=f"Token {token_id} ({row.holder}) was revoked at {when}; ask for a new one."
        )
    return Caller(row.id, row.holder, row.rights)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()
