"""A throwaway OpenDKIM 2.11 milter on 127.0.0.1, signing with the tables the portal writes.

Found here (/work/shared/testbed-notes.md):
- `opendkim -f -x CONF` stays in the foreground as our child; `UserID opendkim:opendkim` drops root.
- Keys under /tmp are refused ("key data is not secure": /tmp is world-writable) and every message
  gets 451: RequireSafeKeys false here, where the folder is a temporary one.
- No syslog on these machines: `Syslog no`; errors show only in its output (log_text()).
- SIGUSR1 re-reads the config and so the tables; the portal sends it, through the pid file.
- It takes 4-5 s to exit after SIGTERM; starting again sooner gives "Address already in use".
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from .ports import HOST, free_port, port_open, wait_for_port_closed
from .proc import spawn, stop_tree
from .service import Service

OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
GENKEY = shutil.which("opendkim-genkey") or "/usr/sbin/opendkim-genkey"
USER = "opendkim"

CONFIG = """\
# Written by tests/testbed/opendkim.py for one test session.
Syslog no
Socket inet:{port}@{host}
Mode sv
PidFile {pid_file}
UserID {user}:{user}
UMask 007
Canonicalization relaxed/simple
OversignHeaders From
KeyTable refile:{key_table}
SigningTable refile:{signing_table}
InternalHosts {internal_hosts}
RequireSafeKeys false
"""


class OpenDkim(Service):
    host = HOST

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.keys_dir = self.root / "keys"
        self.key_table = self.root / "KeyTable"
        self.signing_table = self.root / "SigningTable"
        self.pid_file = self.root / "opendkim.pid"
        self.config = self.root / "opendkim.conf"
        self.log_path = self.root / "opendkim.out"
        self.port = 0

    @property
    def milter(self) -> str:
        """Postfix's smtpd_milters value that reaches it."""
        return f"inet:{self.host}:{self.port}"

    @property
    def settings(self) -> dict[str, object]:
        """The server settings of a mail server that runs it."""
        return {
            "opendkim_keys_dir": str(self.keys_dir),
            "opendkim_key_table": str(self.key_table),
            "opendkim_signing_table": str(self.signing_table),
            "opendkim_user": USER,
            "opendkim_pid_file": str(self.pid_file),
        }

    def start(self, timeout: float = 15) -> None:
        if self.running:
            return
        user = pwd.getpwnam(USER)
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        for path in (self.root, self.keys_dir):
            path.chmod(0o755)  # opendkim reads the tables and its keys after dropping root
        for table in (self.key_table, self.signing_table):
            if not table.exists():
                table.touch(mode=0o644)
        hosts = self.root / "InternalHosts"
        hosts.write_text("127.0.0.1\n")
        self.port = self.port or free_port()
        self.config.write_text(
            CONFIG.format(
                port=self.port,
                host=self.host,
                pid_file=self.pid_file,
                user=USER,
                key_table=self.key_table,
                signing_table=self.signing_table,
                internal_hosts=hosts,
            )
        )
        os.chown(self.root, 0, user.pw_gid)
        self._proc = spawn([OPENDKIM, "-f", "-x", str(self.config)], self.log_path)
        deadline = time.monotonic() + timeout
        while not (port_open(self.port) and self.pid_file.exists()):
            if time.monotonic() > deadline or not self.running:
                self.stop()
                raise RuntimeError(f"opendkim did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_tree(proc, timeout)
        wait_for_port_closed(self.port, timeout)

    @property
    def uid(self) -> int:
        return pwd.getpwnam(USER).pw_uid

    def tables_paths(self) -> tuple[Path, Path]:
        return self.key_table, self.signing_table

    def tables(self) -> tuple[str, str]:
        return self.key_table.read_text(), self.signing_table.read_text()

    def key_files(self) -> list[Path]:
        return sorted(self.keys_dir.glob("*/*.private"))

    def check(self) -> subprocess.CompletedProcess[str]:
        """`opendkim -n`: does it accept the config (and so the tables)?"""
        return subprocess.run([OPENDKIM, "-n", "-x", str(self.config)], capture_output=True, text=True, timeout=30)
