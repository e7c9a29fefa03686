"""Loopback port helpers."""

from __future__ import annotations

import socket
import time

HOST = "127.0.0.1"


def free_port() -> int:
    """Return a port that was free on 127.0.0.1 a moment ago.

    The kernel picks it (bind to port 0); there is a small race until the
    service binds it, which is acceptable for tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = HOST) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float = 10, host: str = HOST) -> None:
    """Block until host:port accepts connections; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_for_port_closed(port: int, timeout: float = 10, host: str = HOST) -> None:
    """Block until host:port refuses connections (service really gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_open(port, host):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} still listening after {timeout}s")
