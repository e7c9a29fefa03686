"""Request rates per key (the API's, per token and per client address), in fixed minute windows.

A limit under BATCHED a window is counted in the throttle's storage (Redis) at every request, so it
holds exactly across processes. A larger one is counted in this process and shared in batches: once
a key's unshared count reaches a hundredth of its limit, or a second has passed. It is refused once
what the storage last said plus what this process has not shared passes the limit: exact within a
process, and across processes to within a batch each. A round trip per request was a third of the
cost of a kept list (`make bench`); a batch costs one per hundred. The storage down: counting goes on
in this process's memory (security/throttle.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from cachetools import TTLCache
from flask import Flask, current_app

from portal.security.throttle import Key, shared_count

BATCHED = 200  # limits of at least this many requests a window are counted in batches
SHARE_SECONDS = 1.0
Rule = tuple[int, int, Key]  # requests allowed per window, the window's seconds, the key


@dataclass
class Count:
    window: int  # which window: its start // its length
    shared: int = 0  # the storage's count when last asked
    unshared: int = 0  # counted here since
    shared_at: float = 0.0  # time.monotonic()


def _name(seconds: int, key: Key, window: int) -> str:
    return f"hostdeck/rate/{key[0]}/{key[1]}/{seconds}/{window}"


class Rates:
    def __init__(self) -> None:
        self.counts: TTLCache[tuple[Key, int], Count] = TTLCache(maxsize=100_000, ttl=600)
        self.lock = threading.Lock()

    def hit(self, rules: list[Rule]) -> tuple[Key, int] | None:
        """Count one request against every rule; a rule used up comes back, with the seconds until its
        window ends (the rules before it have counted the request)."""
        now = time.time()
        for allowed, seconds, key in rules:
            window = int(now // seconds)
            wait = max(1, int((window + 1) * seconds - now))
            if allowed < BATCHED:
                if shared_count(_name(seconds, key, window), seconds * 2, 1) > allowed:
                    return key, wait
            elif not self._batched(allowed, seconds, key, window):
                return key, wait
        return None

    def _batched(self, allowed: int, seconds: int, key: Key, window: int) -> bool:
        with self.lock:
            count = self.counts.get((key, seconds))
            if count is None or count.window != window:
                count = self.counts[(key, seconds)] = Count(window=window, shared_at=time.monotonic())
            if count.shared + count.unshared >= allowed:
                return False
            count.unshared += 1
            due = count.unshared >= allowed // 100 or time.monotonic() - count.shared_at >= SHARE_SECONDS
            amount = count.unshared if due else 0
            count.unshared -= amount
        if amount:
            total = shared_count(_name(seconds, key, window), seconds * 2, amount)
            with self.lock:
                count.shared, count.shared_at = total, time.monotonic()
        return True


def init_app(app: Flask) -> None:
    app.extensions["hostdeck.rates"] = Rates()


def hit(rules: list[Rule]) -> tuple[Key, int] | None:
    rates: Rates = current_app.extensions["hostdeck.rates"]
    return rates.hit(rules)
