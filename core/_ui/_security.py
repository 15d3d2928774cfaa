"""Request checks for the UI server: Host (DNS rebinding), Origin (cross-site requests), token.

The server reads a store that may hold private data, so a request is served only when:

* its ``Host`` names this machine: an IP literal, ``localhost``, or a name the server was
  told about. A DNS-rebinding page reaches us under its own domain name, which fails here.
* it comes from the page itself: an ``Origin`` header, when present, must be this very
  ``http(s)://host:port``, and a ``Sec-Fetch-Site`` header must be ``same-origin`` or
  ``none`` (the user typed or clicked the address). Another site's page, even one on another
  port of localhost, is refused.
* it carries the token, when the server has one (always when it listens beyond loopback):
  in an ``X-Naiad-Token`` or ``Authorization: Bearer`` header, in the cookie that a first
  visit with ``?token=...`` sets, or in the query string.
"""

from __future__ import annotations

import dataclasses
import hmac
import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

_FETCH_SITES_OK = ("same-origin", "none")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of :meth:`Guard.check`: serve it (``status == 0``) or refuse with a status."""

    status: int = 0
    reason: str = ""
    set_cookie: bool = False  # the token came in the query string: remember it in a cookie

    @property
    def ok(self) -> bool:
        return self.status == 0


def split_host(value: str) -> tuple[str, str]:
    """``Host`` header → (hostname lowercased without brackets, port or '')."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return "", ""
        host, rest = value[1:end], value[end + 1 :]
        return host, rest[1:] if rest.startswith(":") else ""
    host, _, port = value.partition(":")
    return host, port


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses: binding there needs no token."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class Guard:
    """Decides whether one request may be served.

    Args:
        token: the secret every request must carry, or None (loopback only).
        hosts: host names accepted in ``Host`` besides IP literals and ``localhost``.
        cookie: the name of the cookie that keeps the token in the browser.

    Example:
        >>> g = Guard(token="s3cret", cookie="naiad_token_8765")
        >>> g.check({"Host": "127.0.0.1:8765"}, {}).status
        401
        >>> g.check({"Host": "127.0.0.1:8765", "X-Naiad-Token": "s3cret"}, {}).ok
        True
    """

    token: str | None = None
    hosts: frozenset[str] = frozenset()
    cookie: str = "naiad_token"

    def host_allowed(self, header: str | None) -> bool:
        if not header:
            return False
        host, port = split_host(header)
        if port and not port.isdigit():
            return False
        return bool(host) and (is_ip(host) or host in ("localhost", "localhost.") or host in self.hosts)

    def check(self, headers: Mapping[str, str], query: Mapping[str, list[str]]) -> Verdict:
        """Check one request's headers (``Host``, ``Origin``, ``Sec-Fetch-Site``, token)."""
        host = headers.get("Host")
        if not self.host_allowed(host):
            return Verdict(
                403,
                f"Host {host!r} is not this server: naiad ui answers to localhost, "
                "IP addresses and the host name it was started with.",
            )
        origin = headers.get("Origin")
        if origin is not None and not _same_origin(origin, host or ""):
            return Verdict(
                403,
                f"Requests from the origin {origin!r} are refused: only the page "
                "served by naiad ui itself may call its API.",
            )
        site = headers.get("Sec-Fetch-Site")
        if site is not None and site.lower() not in _FETCH_SITES_OK:
            return Verdict(
                403, f"A {site} request is refused: only the page served by naiad ui itself may call its API."
            )
        if self.token is None:
            return Verdict()
        for given in (_header_token(headers), _cookie(headers, self.cookie)):
            if _matches(self.token, given):
                return Verdict()
        if _matches(self.token, (query.get("token") or [""])[0]):
            return Verdict(set_cookie=True)
        return Verdict(
            401,
            "This naiad ui needs its token: open the address that `naiad ui` printed "
            "(it ends with ?token=...).",
        )


def _same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin.strip())
    return (
        parts.scheme in ("http", "https")
        and parts.netloc.lower() == host.strip().lower()
        and not parts.path
        and not parts.query
    )


def _header_token(headers: Mapping[str, str]) -> str | None:
    direct = headers.get("X-Naiad-Token")
    if direct:
        return direct.strip()
    auth = headers.get("Authorization") or ""
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _cookie(headers: Mapping[str, str], name: str) -> str | None:
    for part in (headers.get("Cookie") or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _matches(token: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(token.encode(), given.encode())
