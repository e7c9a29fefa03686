"""Run a script on a server: over SSH (see ssh.py), or with local bash."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from typing import Any

from portal.models import Server
from portal.orchestration.results import ExecTimeout, Result, TransportError
from portal.orchestration.ssh import POOL, SSHTransport, Target, host_key_from_keyscan, parse_host_key

__all__ = [
    "ExecTimeout",
    "LocalTransport",
    "Result",
    "SSHTransport",
    "TransportError",
    "exec_timeout",
    "host_key_from_keyscan",
    "parse_host_key",
    "transport_for",
]


class LocalTransport:
    """Single-host installs and the demo: the script runs here, as this user."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def run(self, script: str, timeout: float) -> Result:
        # Own session, so that a timeout kills everything the script started. Same runner as
        # RUNNER in script.py, without a shell in front.
        proc = subprocess.Popen(
            ["bash", "-c", 'eval "$(cat)"'],  # noqa: S607 (this host's bash, as an SSH server would run it)
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(script.encode(), timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ExecTimeout(f"the script ran longer than {int(timeout)} s and was killed") from exc
        code = proc.returncode if proc.returncode >= 0 else None
        return Result(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def exec_timeout(server: Server, config: Mapping[str, Any]) -> int:
    """The server's script time limit, kept well inside RQ's limit for the whole job."""
    wanted = int(server.setting("exec_timeout", config["JOB_TIMEOUT"]))
    job_limit: int = config["RQ_JOB_TIMEOUT"]
    return max(1, min(wanted, job_limit // 2))


def transport_for(
    server: Server, config: Mapping[str, Any], *, reuse: bool | None = None
) -> SSHTransport | LocalTransport:
    if server.transport == "local":
        return LocalTransport(server)
    target = Target(
        server.name,
        server.host,
        server.port,
        server.ssh_user,
        server.host_key or "",
        config["SSH_KEY_PATH"],
        config["SSH_CONNECT_TIMEOUT"],
    )
    reuse = config["SSH_REUSE_CONNECTIONS"] if reuse is None else reuse
    return SSHTransport(target, POOL if reuse else None)
