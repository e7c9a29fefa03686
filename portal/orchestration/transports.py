"""Run a script on a server: over SSH with a pinned host key, or with local bash."""
from __future__ import annotations

import base64
import binascii
import subprocess
import time
from dataclasses import dataclass

import paramiko

from portal.models import Server

CHUNK = 65536


@dataclass
class Result:
    exit_code: int | None
    stdout: str
    stderr: str


class TransportError(Exception):
    """Could not reach or trust the server: nothing ran."""


class ExecTimeout(Exception):
    pass


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


def _collect(chan: paramiko.Channel, timeout: float) -> Result:
    """Read stdout and stderr together, so that neither can fill up and stall the other."""
    out: list[bytes] = []
    err: list[bytes] = []
    deadline = time.monotonic() + timeout
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
                raise ExecTimeout(f"no result after {timeout:.0f} s")
            time.sleep(0.005)
    code = chan.recv_exit_status() if chan.exit_status_ready() else None
    return Result(code, b"".join(out).decode("utf-8", "replace"), b"".join(err).decode("utf-8", "replace"))


class SSHTransport:
    def __init__(self, server: Server, key_path: str, connect_timeout: float) -> None:
        self.server = server
        self.key_path = key_path
        self.connect_timeout = connect_timeout

    def _connect(self) -> paramiko.SSHClient:
        server = self.server
        if not server.host_key:
            raise TransportError(f"{server.name} has no pinned host key; add one before use")
        client = paramiko.SSHClient()
        # Never trust on first use: only the pinned key is accepted.
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        pinned = parse_host_key(server.host_key)
        name = server.host if server.port == 22 else f"[{server.host}]:{server.port}"
        client.get_host_keys().add(name, pinned.get_name(), pinned)
        try:
            pkey = paramiko.PKey.from_path(self.key_path)
            client.connect(
                server.host, port=server.port, username=server.ssh_user, pkey=pkey,
                timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout, look_for_keys=False, allow_agent=False,
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise TransportError(
                f"host key of {server.name} changed: expected {exc.expected_key.get_name()} "
                f"{exc.expected_key.fingerprint}, got {exc.key.fingerprint}; nothing was run"
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise TransportError(f"authentication as {server.ssh_user} on {server.name} failed") from exc
        except (OSError, paramiko.SSHException, ValueError) as exc:
            client.close()
            raise TransportError(f"cannot connect to {server.name}: {exc}") from exc
        return client

    def run(self, script: str, timeout: float) -> Result:
        client = self._connect()
        try:
            chan = client.get_transport().open_session(timeout=self.connect_timeout)
            chan.exec_command("bash -s")
            chan.sendall(script.encode())
            chan.shutdown_write()
            try:
                return _collect(chan, timeout)
            finally:
                chan.close()
        except paramiko.SSHException as exc:
            raise TransportError(f"SSH session to {self.server.name} failed: {exc}") from exc
        finally:
            client.close()


class LocalTransport:
    """Single-host installs and the demo: the script runs here, as this user."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def run(self, script: str, timeout: float) -> Result:
        try:
            proc = subprocess.run(
                ["bash", "-s"], input=script.encode(), capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ExecTimeout(f"no result after {timeout:.0f} s") from exc
        return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def transport_for(server: Server, config) -> SSHTransport | LocalTransport:
    if server.transport == "local":
        return LocalTransport(server)
    return SSHTransport(server, config["SSH_KEY_PATH"], config["SSH_CONNECT_TIMEOUT"])
