"""What every testbed service shares: a log file and `with` support."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from .proc import alive


class Service:
    log_path: Path
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and alive(self._proc.pid)

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def wait_started(self, answers: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll until the service answers; stop it and fail with its log if it dies or never does."""
        deadline = time.monotonic() + timeout
        while not answers():
            if time.monotonic() > deadline or not self.running:
                self.stop()
                raise RuntimeError(f"{what} did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
