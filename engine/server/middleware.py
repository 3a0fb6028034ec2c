"""ComfyUI's origin guard: a browser page on another origin may not drive a loopback server.

When the `Host` is a loopback name and an `Origin` header is present whose host differs,
the request is refused with 403. Clients that send no `Origin` (Python) are unaffected.
"""

from __future__ import annotations

import ipaddress
import logging
import urllib.parse
from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["is_loopback", "origin_only_middleware"]

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str | None) -> bool:
    """Whether `host` names this machine's loopback interface."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _mismatch(host_header: str, origin_header: str) -> bool:
    host_domain: str | None = host_header.lower()
    parsed_origin = urllib.parse.urlparse(origin_header)
    origin_domain: str | None = parsed_origin.netloc.lower()
    parsed_host = urllib.parse.urlsplit("//" + (host_domain or ""))
    if not is_loopback(parsed_host.hostname):
        return False
    # A side without a port is compared by host name only (some browsers omit it).
    if parsed_origin.port is None:
        host_domain = parsed_host.hostname
    if parsed_host.port is None:
        origin_domain = parsed_origin.hostname
    return bool(host_domain) and bool(origin_domain) and host_domain != origin_domain


@web.middleware
async def origin_only_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """403 for a foreign `Origin` on a loopback `Host`; OPTIONS answered empty."""
    host, origin = request.headers.get("Host"), request.headers.get("Origin")
    if host is not None and origin is not None and _mismatch(host, origin):
        logger.warning(
            "request with non matching host and origin %s != %s, returning 403", host, origin
        )
        return web.Response(status=403)
    if request.method == "OPTIONS":
        return web.Response()
    return await handler(request)
