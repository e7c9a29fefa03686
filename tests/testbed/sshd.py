"""A throwaway OpenSSH server on 127.0.0.1 with key-only login."""

from __future__ import annotations

import os
import pwd
import subprocess
import tempfile
import time
from pathlib import Path

from .ports import HOST, free_port, wait_for_port, wait_for_port_closed
from .proc import kill_quietly, stop_tree
from .service import Service

SSHD = "/usr/sbin/sshd"  # must be absolute: sshd refuses to re-exec otherwise


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def _pub_line(pub_path: Path) -> str:
    """'ssh-ed25519 AAAA...' without the comment."""
    keytype, blob = pub_path.read_text().split()[:2]
    return f"{keytype} {blob}"


# A uid-0 alias whose shell is /bin/sh: this machine's root .bashrc (sourced by
# bash for every sshd command) spends ~80 ms on pyenv, which a real managed
# server does not, and which would drown every timing.
ALIAS = "hostdeck-root"
ALIAS_HOME = Path("/var/lib/hostdeck-root")  # empty: no rc files, and sshd can chdir there


def login_user() -> str:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam(ALIAS)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--non-unique",
                "--uid",
                "0",
                "--gid",
                "0",
                "--no-create-home",
                "--home-dir",
                str(ALIAS_HOME),
                "--shell",
                "/bin/sh",
                ALIAS,
            ],
            check=True,
        )
    ALIAS_HOME.mkdir(mode=0o700, exist_ok=True)
    # "*": no password, but not locked (sshd refuses locked accounts even for keys).
    subprocess.run(["usermod", "--password", "*", ALIAS], check=True)
    return ALIAS


def other_host_key_line() -> str:
    """A fresh ed25519 public key line, different from any running sshd's.

    Used to pin a wrong host key and check the client refuses to connect.
    """
    with tempfile.TemporaryDirectory(prefix="other-hostkey-") as d:
        key = Path(d) / "key"
        _keygen(key, "other")
        return _pub_line(key.with_suffix(".pub"))


class Sshd(Service):
    """sshd in the foreground (-D) as our child, files under root."""

    host: str = HOST

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.port: int = 0
        self.user: str = login_user()
        self.host_key_path = self.root / "ssh_host_ed25519_key"
        self.client_key_path = self.root / "client_ed25519"
        self.authorized_keys_path = self.root / "authorized_keys"
        self.config_path = self.root / "sshd_config"
        self.pid_path = self.root / "sshd.pid"
        self.log_path = self.root / "sshd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- keys --------------------------------------------------------------
    @property
    def host_key_line(self) -> str:
        return _pub_line(self.host_key_path.with_suffix(".pub"))

    @property
    def client_public_key_line(self) -> str:
        return _pub_line(self.client_key_path.with_suffix(".pub"))

    def _make_keys(self) -> None:
        # Keys survive stop()/start() so pinned host keys stay valid.
        if not self.host_key_path.exists():
            _keygen(self.host_key_path, "testbed-host")
        if not self.client_key_path.exists():
            _keygen(self.client_key_path, "testbed-client")
        self.authorized_keys_path.write_text(self.client_public_key_line + "\n")
        self.authorized_keys_path.chmod(0o600)

    def _listening(self) -> str:
        """Where it listens, with which host key; no PAM, no DNS, no checks of key files' owners."""
        return (
            f"Port {self.port}\n"
            f"ListenAddress {self.host}\n"
            f"HostKey {self.host_key_path}\n"
            f"PidFile {self.pid_path}\n"
            "UsePAM no\n"
            "UseDNS no\n"
            # Keys live in tmp folders whose owners/modes sshd would refuse.
            "StrictModes no\n"
        )

    def _write_config(self) -> None:
        self.config_path.write_text(
            self._listening()
            + (
                f"AuthorizedKeysFile {self.authorized_keys_path}\n"
                "PasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\n"
                "PubkeyAuthentication yes\n"
                "PermitRootLogin prohibit-password\n"
                # VERBOSE logs the accepted key and each session's command.
                "LogLevel VERBOSE\n"
                # Tests may open many connections in a burst.
                "MaxStartups 100\n"
                "MaxSessions 50\n"
                "Subsystem sftp internal-sftp\n"
            )
        )

    # -- lifecycle ---------------------------------------------------------

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self._make_keys()
        if not self.port:
            self.port = free_port()
        self._write_config()
        # Privilege separation directory; sshd exits without it.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.pid_path.unlink(missing_ok=True)
        subprocess.run([SSHD, "-t", "-f", str(self.config_path)], check=True)
        self._proc = subprocess.Popen(
            [SSHD, "-D", "-f", str(self.config_path), "-E", str(self.log_path)],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_port(self.port, timeout)
            deadline = time.monotonic() + timeout
            while not self.pid_path.exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no {self.pid_path} after {timeout}s")
                time.sleep(0.02)
        except Exception as err:
            self.stop()
            raise RuntimeError(f"sshd did not start:\n{self.log_text()}") from err

    def stop(self) -> None:
        """SIGTERM the listener and its per-connection children, then reap."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # The pid file names the listener; with -D it is our child anyway.
        try:
            listed = int(self.pid_path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            listed = proc.pid
        if listed != proc.pid:
            kill_quietly(listed)
        stop_tree(proc)
        self.pid_path.unlink(missing_ok=True)
        wait_for_port_closed(self.port)
