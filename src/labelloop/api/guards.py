"""Request guards for an app without accounts that listens on loopback.

Binding to 127.0.0.1 keeps other machines out, but not other web pages open in the user's
browser: a page from any site can POST a form or a multipart upload to localhost (cross-site
request forgery), and a site whose DNS name re-binds to 127.0.0.1 can read the answers too (DNS
rebinding). Two checks close both:

- Host: when serving on loopback, the Host header must name a loopback host (a rebinding page
  sends its own domain name).
- Origin: a browser sends Origin with every cross-origin write; a write (POST, PUT, PATCH,
  DELETE) whose Origin is not this server is refused. Clients that are not browsers (curl, the
  CLI, scripts) send no Origin and are not affected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _host_name(host_header: str) -> str:
    """The host of a Host header, without port or IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class RequestGuard:
    """ASGI middleware: refuse hosts not in ``allowed_hosts`` (None: any host) and cross-origin
    writes."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] | None = None):
        self.app = app
        self.allowed_hosts = (
            None if allowed_hosts is None else {_host_name(h) for h in allowed_hosts}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if self.allowed_hosts is not None and _host_name(host) not in self.allowed_hosts:
            await _refuse(
                send,
                400,
                "host_not_allowed",
                f"this server answers to {', '.join(sorted(self.allowed_hosts))}, not to "
                f"{_host_name(host) or 'a request without a Host header'!r}",
            )
            return
        origin = headers.get("origin")
        # Behind a reverse proxy the Host may be the upstream's; the proxy names the public one.
        hosts = (host, headers.get("x-forwarded-host", ""))
        if scope["method"] in _WRITES and origin is not None and not _same_origin(origin, hosts):
            await _refuse(
                send,
                403,
                "cross_origin",
                f"a page from {origin} may not change data on this server; open labelloop "
                "itself to do that",
            )
            return
        await self.app(scope, receive, send)


def _same_origin(origin: str, hosts: Iterable[str]) -> bool:
    if origin == "null":  # sandboxed frames and file:// pages
        return False
    netloc = urlsplit(origin).netloc.lower()
    return bool(netloc) and any(netloc == h.strip().lower() for h in hosts if h)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
