"""Who may read /metrics: a bearer token (METRICS_TOKEN), addresses (METRICS_ALLOW, CIDRs), or both
when both are set. With neither, /metrics is not there (404): figures about the servers and the work
are never public by default."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Flask, Request, Response, abort
from flask.sansio.app import App

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(raw: str) -> list[Network]:
    """'10.0.0.0/8, 127.0.0.1' -> networks; a wrong entry stops the start with its name."""
    found = []
    for entry in (part.strip() for part in raw.split(",")):
        if entry:
            try:
                found.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise RuntimeError(f"METRICS_ALLOW: {entry!r} is not an address or a network (CIDR)") from exc
    return found


def check_settings(app: App) -> None:
    app.extensions["hostdeck.metrics_allow"] = networks(app.config["METRICS_ALLOW"])


def refusal(app: Flask, request: Request) -> Response | None:
    """None when the request may read the metrics, else the answer to give."""
    token: str = app.config["METRICS_TOKEN"]
    allowed: list[Network] = app.extensions["hostdeck.metrics_allow"]
    if not token and not allowed:
        abort(404)
    if allowed and not _allowed(request.remote_addr, allowed):
        return Response("This address may not read the metrics.\n", 403, content_type="text/plain")
    given = request.headers.get("Authorization", "")
    if token and not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(
            "The metrics need the bearer token (METRICS_TOKEN).\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
            content_type="text/plain",
        )
    return None


def _allowed(address: str | None, allowed: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in allowed)
