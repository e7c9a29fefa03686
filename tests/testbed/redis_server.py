"""A throwaway redis-server on 127.0.0.1 (no persistence) for tests."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .ports import HOST, free_port, wait_for_port, wait_for_port_closed
from .proc import spawn, stop_tree
from .service import Service

# Commands that read a whole value, by TYPE; the key goes after the command.
READERS: dict[bytes, list[str]] = {
    b"string": ["GET"],
    b"hash": ["HGETALL"],
    b"list": ["LRANGE", "{key}", "0", "-1"],
    b"set": ["SMEMBERS"],
    b"zset": ["ZRANGE", "{key}", "0", "-1", "WITHSCORES"],
    b"stream": ["XRANGE", "{key}", "-", "+"],
}


def _flatten(reply: Any) -> list[bytes]:
    """Nested replies (lists, tuples, dicts from redis-py) to flat bytes."""
    if reply is None:
        return []
    if isinstance(reply, bytes):
        return [reply]
    if isinstance(reply, (str, int, float)):
        return [str(reply).encode()]
    if isinstance(reply, dict):
        reply = [x for kv in reply.items() for x in kv]
    return [b for item in reply for b in _flatten(item)]


class RedisServer(Service):
    """redis-server --daemonize no as our child; the port survives restarts."""

    host: str = HOST

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.port = 0
        self.log_path = self.root / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        """Start, or start again after stop() on the same port."""
        if self.running:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        self._proc = spawn(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                self.host,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
            ],
            self.log_path,
        )
        try:
            wait_for_port(self.port, timeout)
        except Exception as err:
            self.stop()
            raise RuntimeError(f"redis-server did not start:\n{self.log_text()}") from err

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_tree(proc)
        wait_for_port_closed(self.port)

    # -- inspection --------------------------------------------------------
    def _caller(self) -> Callable[..., list[bytes]]:
        """call(db, *args) -> flat reply, via redis-py if present, else redis-cli."""
        try:
            redis: Any = importlib.import_module("redis")
        except ImportError:
            redis = None
        if redis is not None:
            clients: dict[int, Any] = {}

            def call_py(db: int, *args: str | bytes) -> list[bytes]:
                if db not in clients:
                    clients[db] = redis.Redis(host=self.host, port=self.port, db=db)
                return _flatten(clients[db].execute_command(*args))

            return call_py

        cli = shutil.which("redis-cli") or "redis-cli"

        def call_cli(db: int, *args: str | bytes) -> list[bytes]:
            # --raw prints one element per line; good enough to grep values.
            out = subprocess.run(
                [cli, "-h", self.host, "-p", str(self.port), "-n", str(db), "--raw", *args],
                capture_output=True,
                check=True,
            ).stdout
            return out.splitlines()

        return call_cli

    def all_values(self) -> bytes:
        """Every key and value of every DB, one block per key, to grep for secrets."""
        call = self._caller()
        dbs = [
            int(line.split(b":")[0][2:])
            for line in call(0, "INFO", "keyspace")
            for line in line.splitlines()
            if line.startswith(b"db")
        ]
        out: list[bytes] = []
        for db in dbs:
            for key in sorted(call(db, "KEYS", "*")):
                kind = (call(db, "TYPE", key) or [b"none"])[0]
                reader = READERS.get(kind)
                values = []
                if reader:
                    args = [key if a == "{key}" else a for a in reader]
                    if "{key}" not in reader:
                        args.insert(1, key)
                    values = call(db, *args)
                out.append(b"db%d %s %s\n" % (db, kind, key))
                out.extend(b"  " + v + b"\n" for v in values)
        return b"".join(out)

    def flushall(self) -> None:
        self._caller()(0, "FLUSHALL")
