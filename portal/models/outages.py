"""An outage of a store this process talks to (Redis): noticed once, logged once, tried again now and then.

A request that finds the store down says so in the log the first time only (per process), and the
requests after it do not wait on the store again until RETRY_SECONDS have passed: an unreachable
host would cost each of them its timeout. The first success after an outage logs that it is over.
"""

from __future__ import annotations

import logging
import threading
import time

RETRY_SECONDS = 5.0


class Outage:
    def __init__(self, log: logging.Logger, what: str, meanwhile: str) -> None:
        self._log, self.what, self.meanwhile = log, what, meanwhile
        self.since: float | None = None  # time.time() the outage was noticed; None while the store answers
        self._retry_at = 0.0
        self._lock = threading.Lock()

    @property
    def waiting(self) -> bool:
        """Down, and not yet time to try again: skip the store."""
        return self.since is not None and time.monotonic() < self._retry_at

    def failed(self, error: Exception) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + RETRY_SECONDS
            if self.since is not None:
                return
            self.since = time.time()
        self._log.warning("%s does not answer (%s); %s", self.what, error, self.meanwhile)

    def answered(self) -> bool:
        """The store answered: True when that ends an outage."""
        if self.since is None:
            return False
        with self._lock:
            since, self.since = self.since, None
        if since is None:
            return False
        self._log.info("%s answers again after %.0f s", self.what, time.time() - since)
        return True
