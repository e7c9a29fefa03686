"""SSH with a pinned host key, connections reused across jobs in one worker process.

RQ's SimpleWorker runs jobs in the worker process itself, so a connection made
for one job serves the next. Connections are tied to the process that made
them: paramiko transports do not survive a fork.
"""

from __future__ import annotations

import base64
import binascii
import os
import socket
import threading
import time
from dataclasses import dataclass

import paramiko

from portal.orchestration.metrics import SSH_OPENED, SSH_REUSED
from portal.orchestration.results import ExecTimeout, HostKeyChanged, Result, TransportError
from portal.orchestration.script import RUNNER, q

CHUNK = 65536
KEEPALIVE_S = 15
# The remote `timeout` gets this long to kill the script before we give up on the channel.
KILL_GRACE_S = 5


def parse_host_key(line: str) -> paramiko.PKey:
    """'ssh-ed25519 AAAA... [comment]' -> key. Also takes an ssh-keyscan line with a host in front."""
    fields = line.split()
    for i, field in enumerate(fields[:-1]):
        if field.startswith(("ssh-", "ecdsa-", "sk-")):
            try:
                return paramiko.PKey.from_type_string(field, base64.b64decode(fields[i + 1]))
            except (binascii.Error, paramiko.SSHException, ValueError) as exc:
                raise ValueError(f"not a valid {field} public key") from exc
    raise ValueError("no public host key found in that text")


def host_key_from_keyscan(text: str) -> str:
    """Pick one key from ssh-keyscan output, preferring ed25519, as 'type base64'."""
    keys = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key = parse_host_key(line)
            keys.append(f"{key.get_name()} {key.get_base64()}")
    if not keys:
        raise ValueError("no host key in the ssh-keyscan output")
    return next((k for k in keys if k.startswith("ssh-ed25519 ")), keys[0])


@dataclass(frozen=True)
class Target:
    """Everything a connection depends on: change any of it and we reconnect."""

    name: str
    host: str
    port: int
    user: str
    host_key: str
    key_path: str
    connect_timeout: float


def connect(target: Target) -> paramiko.SSHClient:
    if not target.host_key:
        raise TransportError(f"{target.name} has no pinned host key; add one before use")
    client = paramiko.SSHClient()
    # Never trust on first use: only the pinned key is accepted.
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    pinned = parse_host_key(target.host_key)
    name = target.host if target.port == 22 else f"[{target.host}]:{target.port}"
    client.get_host_keys().add(name, pinned.get_name(), pinned)
    try:
        pkey = paramiko.PKey.from_path(target.key_path)
        client.connect(
            target.host,
            port=target.port,
            username=target.user,
            pkey=pkey,
            timeout=target.connect_timeout,
            banner_timeout=target.connect_timeout,
            auth_timeout=target.connect_timeout,
            look_for_keys=False,
            allow_agent=False,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostKeyChanged(
            f"host key of {target.name} changed: expected {exc.expected_key.get_name()} "
            f"{exc.expected_key.fingerprint}, got {exc.key.fingerprint}; nothing was run"
        ) from exc
    except paramiko.AuthenticationException as exc:
        client.close()
        raise TransportError(f"authentication as {target.user} on {target.name} failed") from exc
    except (OSError, EOFError, paramiko.SSHException, ValueError) as exc:
        client.close()
        raise TransportError(f"cannot connect to {target.name}: {exc}") from exc
    transport = client.get_transport()
    if transport is None:  # connect() returned without a connection
        client.close()
        raise TransportError(f"cannot connect to {target.name}: no transport")
    transport.set_keepalive(KEEPALIVE_S)
    # Our packets are small and latency-bound: Nagle plus delayed ACKs would add ~40 ms per exchange.
    if isinstance(transport.sock, socket.socket):  # not a proxy channel (we never use one)
        transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    SSH_OPENED.labels(server=target.name).inc()
    return client


class Pool:
    """One live connection per target, per process."""

    def __init__(self) -> None:
        self._clients: dict[Target, tuple[int, paramiko.SSHClient]] = {}
        self._lock = threading.Lock()

    def get(self, target: Target) -> tuple[paramiko.SSHClient, bool]:
        """(client, reused)."""
        with self._lock:
            pid, client = self._clients.get(target, (None, None))
            if client is not None and pid == os.getpid():
                transport = client.get_transport()
                if transport is not None and transport.is_active():
                    return client, True
                client.close()
            self._clients.pop(target, None)  # made before a fork: leave the parent's socket alone
        client = connect(target)
        with self._lock:
            self._clients[target] = (os.getpid(), client)
        return client, False

    def discard(self, target: Target) -> None:
        with self._lock:
            pid, client = self._clients.pop(target, (None, None))
        if client is not None and pid == os.getpid():
            client.close()

    def close_all(self) -> None:
        for target in list(self._clients):
            self.discard(target)


POOL = Pool()


def _collect(chan: paramiko.Channel, deadline: float) -> Result:
    """Read stdout and stderr together, so that neither can fill up and stall the other."""
    out: list[bytes] = []
    err: list[bytes] = []
    while True:
        busy = False
        if chan.recv_ready():
            out.append(chan.recv(CHUNK))
            busy = True
        if chan.recv_stderr_ready():
            err.append(chan.recv_stderr(CHUNK))
            busy = True
        if not busy:
            # sshd may report the exit status before the last output: wait for EOF too.
            if chan.closed or (chan.eof_received and chan.exit_status_ready()):
                break
            if time.monotonic() > deadline:
                raise ExecTimeout("the script did not finish in time and was abandoned")
            time.sleep(0.002)
    code = chan.recv_exit_status() if chan.exit_status_ready() else None
    return Result(
        None if code == -1 else code, b"".join(out).decode("utf-8", "replace"), b"".join(err).decode("utf-8", "replace")
    )


class SSHTransport:
    def __init__(self, target: Target, pool: Pool | None = POOL) -> None:
        self.target = target
        self.pool = pool

    def _client(self) -> tuple[paramiko.SSHClient, bool]:
        if self.pool is None:
            return connect(self.target), False
        return self.pool.get(self.target)

    def _session(self, client: paramiko.SSHClient) -> paramiko.Channel:
        transport = client.get_transport()
        if transport is None:
            raise paramiko.SSHException("the connection is closed")
        return transport.open_session(timeout=self.target.connect_timeout)

    def _open(self) -> tuple[paramiko.SSHClient, paramiko.Channel]:
        client, reused = self._client()
        try:
            chan = self._session(client)
        except (paramiko.SSHException, EOFError, OSError):
            if not reused or self.pool is None:
                raise
        else:
            if reused:
                SSH_REUSED.labels(server=self.target.name).inc()
            return client, chan
        # A reused connection went stale (server restarted, network blip): connect afresh once.
        self.pool.discard(self.target)
        client, _ = self._client()
        return client, self._session(client)

    def run(self, script: str, timeout: float) -> Result:
        started = time.monotonic()
        try:
            client, chan = self._open()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self._drop()
            raise TransportError(f"SSH session to {self.target.name} failed: {exc}") from exc
        try:
            # The server kills the script (and everything it started) when time is up.
            chan.exec_command(f"timeout --kill-after={KILL_GRACE_S} {q(int(timeout))} {RUNNER}")
            chan.sendall(script.encode())
            chan.shutdown_write()
            result = _collect(chan, started + timeout + 2 * KILL_GRACE_S)
        except ExecTimeout:
            self._drop()
            raise
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self._drop()
            raise TransportError(f"SSH session to {self.target.name} broke: {exc}") from exc
        finally:
            chan.close()
            if self.pool is None:
                client.close()
        if result.exit_code in (124, 137) and time.monotonic() - started >= timeout:
            raise ExecTimeout(f"the script ran longer than {int(timeout)} s and was killed")
        return result

    def _drop(self) -> None:
        if self.pool is not None:
            self.pool.discard(self.target)
