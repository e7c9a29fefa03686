"""A throwaway PostgreSQL cluster on 127.0.0.1 with password (SCRAM) logins and every statement logged.

The machine's own cluster trusts every local connection, so a password test against it would
prove nothing; this one runs the same binaries from a temporary folder. Superuser `postgres`
logs in over the Unix socket by peer authentication (as the portal's backend does, through
runuser); everyone else needs a SCRAM password.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import time
from pathlib import Path

from .ports import HOST, free_port, wait_for_port, wait_for_port_closed
from .proc import spawn, stop_tree
from .service import Service


def pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


HBA = """\
local all postgres peer
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
"""


class PgCluster(Service):
    host: str = HOST

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log_path = self.root / "postgres.log"
        self.port = 0
        self._proc = None

    def _as_postgres(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, **kw)

    def start(self, timeout: float = 30) -> None:
        if self.running:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if not self.data.exists():
            self.socket_dir.mkdir()
            shutil.chown(self.socket_dir, "postgres", "postgres")
            self.log_path.touch()
            shutil.chown(self.log_path, "postgres", "postgres")
            self.data.mkdir(mode=0o700)
            shutil.chown(self.data, "postgres", "postgres")
            self._as_postgres(
                pg_bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
            )
            (self.data / "pg_hba.conf").write_text(HBA)
        self.port = self.port or free_port()
        self._proc = spawn(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                pg_bin("postgres"),
                "-D",
                str(self.data),
                "-c",
                f"port={self.port}",
                "-c",
                f"listen_addresses={self.host}",
                "-c",
                f"unix_socket_directories={self.socket_dir}",
                "-c",
                "fsync=off",
                "-c",
                "log_statement=all",
                "-c",
                "log_connections=on",
                "-c",
                "password_encryption=scram-sha-256",
            ],
            self.log_path,
        )
        try:
            wait_for_port(self.port, timeout)
            deadline = time.monotonic() + timeout
            while self.psql("SELECT 1", check=False).returncode != 0:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"psql could not connect after {timeout}s")
                time.sleep(0.1)
        except Exception as err:
            self.stop()
            raise RuntimeError(f"postgres did not start:\n{self.log_text()}") from err

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_tree(proc, timeout=30)
        wait_for_port_closed(self.port)

    def psql(self, sql: str, database: str = "postgres", check: bool = True) -> subprocess.CompletedProcess:
        """Run SQL as the superuser, over the socket."""
        return subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-d",
                database,
            ],
            input=sql,
            text=True,
            capture_output=True,
            check=check,
        )

    def settings(self) -> dict[str, object]:
        """The server settings the portal's PostgreSQL backend needs to reach this cluster."""
        return {"postgresql_host": str(self.socket_dir), "postgresql_port": self.port, "postgresql_run_as": "postgres"}
