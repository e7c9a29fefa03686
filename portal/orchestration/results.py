"""What running a script can give back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Result:
    exit_code: int | None  # None: the script ended without an exit status (killed)
    stdout: str
    stderr: str


class TransportError(Exception):
    """Could not reach or trust the server: nothing ran."""

    retryable = True


class HostKeyChanged(TransportError):
    """Not retried: waiting will not fix it, and it may be an attack. Staff re-pin the key."""

    retryable = False


class ExecTimeout(Exception):
    pass
