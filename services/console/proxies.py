"""Which address a request came from, when the console sits behind reverse proxies.

Audit rows and the sign-in throttle key on the client's address, so a header a client can write
must never decide it. ``X-Forwarded-For`` is believed only when the direct peer is one of the
proxies named in ``LAWLINK_TRUSTED_PROXIES``, and then only up to the first hop that is not one
of them (read from the right: each trusted proxy appends the address it saw). uvicorn's own
proxy-header handling trusts 127.0.0.1 by default, so the console is started with
``--no-proxy-headers`` and this middleware is the one place the address is decided.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDRs (``10.0.0.5, 10.1.0.0/16, ::1``) as networks.

    Raises:
        ValueError: an entry is neither an address nor a network (the message names it).
    """
    networks: list[Network] = []
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"LAWLINK_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Iterable[Network]) -> bool:
    return any(address in network for network in networks)


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the socket peer, unless the peer is a trusted proxy, in which case
    the right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy.

    An entry that is not an address ends the walk at the last trusted hop: an address nobody can
    vouch for is not recorded as the client.
    """
    peer_address = _address(peer)
    if peer_address is None or not forwarded_for or not _trusted(peer_address, trusted):
        return peer
    hop = peer
    for raw in reversed(forwarded_for.split(",")):
        address = _address(raw)
        if address is None:
            return hop
        hop = str(address)
        if not _trusted(address, trusted):
            return hop
    return hop


class ClientAddressMiddleware:
    """Rewrites ``scope["client"]`` to :func:`client_address`, so ``request.client`` is the one
    answer every route, audit row and the throttle see."""

    def __init__(self, app: ASGIApp, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client") and self.trusted:
            host, port = scope["client"]
            values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
            resolved = client_address(host, ",".join(values) or None, self.trusted)
            if resolved != host:
                scope = {**scope, "client": (resolved, port)}
        await self.app(scope, receive, send)
