"""Throttling of failed logins, wrong two-factor codes, password links and proof checks, per account
and per IP, shared through Redis when there is one.

Passwords and codes keep counts of their own. Past the limit within a minute, even the right
password or code is refused (429) until the minute has passed: the account is under attack.

When the configured storage does not answer, counting goes on in this process's memory (each web
process then allows its own limit), with one warning in the log for the outage and a sentence from
`fallback_warning()` for /readyz; the storage is tried again every few seconds (models/outages.py),
and counting goes back to it once it answers. A throttle that failed shut would lock everyone out;
one that failed open would let a guesser through.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request
from limits import RateLimitItem, RateLimitItemPerMinute, storage, strategies
from limits.errors import StorageError

from portal.models.outages import Outage

log = logging.getLogger(__name__)

Key = tuple[str, str]
Rule = tuple[RateLimitItem, Key]
Limiter = strategies.MovingWindowRateLimiter
T = TypeVar("T")

TIMEOUT_SECONDS = 1.0  # an unreachable Redis costs a request this long at most, once every few seconds


class Counting:
    """Where the counts go: the configured storage, or this process's memory while it does not answer."""

    def __init__(self, uri: str) -> None:
        self.scheme = urlsplit(uri).scheme
        options: dict[str, float] = {}
        if self.scheme in storage.RedisStorage.STORAGE_SCHEME:
            options = {"socket_connect_timeout": TIMEOUT_SECONDS, "socket_timeout": TIMEOUT_SECONDS}
        self.configured = Limiter(storage.storage_from_string(uri, wrap_exceptions=True, **options))
        self._memory: Limiter | None = None  # made at the first outage: most processes never need it
        self._lock = threading.Lock()
        self.outage = Outage(
            log,
            f"throttle: the {self.scheme} storage",
            "failed logins, codes and links are counted in this process's memory until it does",
        )

    def run(self, count: Callable[[Limiter], T]) -> T:
        """count() on the configured storage; on this process's memory while that does not answer."""
        if not self.outage.waiting:
            try:
                result = count(self.configured)
            except StorageError as exc:
                self.outage.failed(exc.storage_error)
            else:
                self.outage.answered()
                return result
        return count(self._fallback())

    def probe(self) -> None:
        """While counting in memory, see (at most every few seconds) whether the storage is back."""
        if self.outage.since is None or self.outage.waiting:
            return
        try:
            answers = self.configured.storage.check()
        except StorageError:
            answers = False
        if answers:
            self.outage.answered()
        else:
            self.outage.failed(RuntimeError("no answer to a ping"))

    def reset(self) -> None:
        """Forget every count, in the storage and in memory (a minute passing, in tests)."""
        self.configured.storage.reset()
        if self._memory is not None:
            self._memory.storage.reset()

    def _fallback(self) -> Limiter:
        with self._lock:
            if self._memory is None:
                self._memory = Limiter(storage.MemoryStorage())
            return self._memory


def init_app(app: Flask) -> None:
    uri = app.config["RATELIMIT_STORAGE_URI"] or app.config["REDIS_URL"] or "memory://"
    app.extensions["hostdeck.throttle"] = Counting(uri)


def _counting() -> Counting:
    counting: Counting = current_app.extensions["hostdeck.throttle"]
    return counting


def shared_count(key: str, expiry: int, amount: int) -> int:
    """Add to a counter in the throttle's storage (this process's memory while it does not answer)
    and read its new value back: one round trip (security/rates.py shares its counts so)."""
    return _counting().run(lambda limiter: int(limiter.storage.incr(key, expiry, amount=amount)))


def fallback_warning() -> str | None:
    """For /readyz: None while the configured storage counts; a sentence while this process counts in memory."""
    counting = _counting()
    counting.probe()
    if counting.outage.since is None:
        return None
    return (
        f"The throttle's {counting.scheme} storage does not answer: failed logins, two-factor codes and "
        "password links are counted in this process's memory (each web process allows its own limit) until it does."
    )


def client_ip() -> str:
    """The client's address (behind proxies, as ProxyFix found it); "-" outside a request."""
    return (request.remote_addr or "-") if has_request_context() else "-"


def _limit() -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"])


def _blocked(keys: list[Key]) -> bool:
    item = _limit()
    return _counting().run(lambda limiter: any(not limiter.test(item, "hostdeck", *key) for key in keys))


def _failed(keys: list[Key]) -> None:
    item = _limit()

    def hit(limiter: Limiter) -> None:
        for key in keys:
            limiter.hit(item, "hostdeck", *key)

    _counting().run(hit)


def spend(rules: list[Rule]) -> tuple[Key, int] | None:
    """Count one use against every rule. When one of them is used up already, nothing is counted: its
    key comes back, with the seconds until it allows again."""

    def count(limiter: Limiter) -> tuple[Key, int] | None:
        for item, key in rules:
            if not limiter.test(item, "hostdeck", *key):
                reset = limiter.get_window_stats(item, "hostdeck", *key).reset_time
                return key, max(1, int(reset - time.time()))
        for item, key in rules:
            limiter.hit(item, "hostdeck", *key)
        return None

    return _counting().run(count)


def _login_keys(email: str, ip: str) -> list[Key]:
    return [("login-account", email.strip().lower()), ("login-ip", ip)]


def login_blocked(email: str, ip: str) -> bool:
    return _blocked(_login_keys(email, ip))


def login_failed(email: str, ip: str) -> None:
    _failed(_login_keys(email, ip))


def _code_keys(user_id: int, ip: str) -> list[Key]:
    return [("code-user", str(user_id)), ("code-ip", ip)]


def codes_blocked(user_id: int, ip: str) -> bool:
    """Too many wrong two-factor codes for this user, or from this IP, within the minute?"""
    return _blocked(_code_keys(user_id, ip))


def code_failed(user_id: int, ip: str) -> None:
    _failed(_code_keys(user_id, ip))
