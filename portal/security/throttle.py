"""Throttling of failed logins and of wrong two-factor codes, per account and per IP, shared through
Redis when there is one.

Passwords and codes keep counts of their own. Past the limit within a minute, even the right
password or code is refused (429) until the minute has passed: the account is under attack.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, has_request_context, request
from limits import RateLimitItem, RateLimitItemPerMinute, storage, strategies

Key = tuple[str, str]
Rule = tuple[RateLimitItem, Key]


def init_app(app: Flask) -> None:
    uri = app.config["RATELIMIT_STORAGE_URI"] or app.config["REDIS_URL"] or "memory://"
    app.extensions["hostdeck.throttle"] = strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))


def client_ip() -> str:
    """The client's address (behind proxies, as ProxyFix found it); "-" outside a request."""
    return (request.remote_addr or "-") if has_request_context() else "-"


def _limit() -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"])


def _limiter() -> strategies.MovingWindowRateLimiter:
    limiter: strategies.MovingWindowRateLimiter = current_app.extensions["hostdeck.throttle"]
    return limiter


def _blocked(keys: list[Key]) -> bool:
    limiter = _limiter()
    return any(not limiter.test(_limit(), "hostdeck", *key) for key in keys)


def _failed(keys: list[Key]) -> None:
    limiter = _limiter()
    for key in keys:
        limiter.hit(_limit(), "hostdeck", *key)


def spend(rules: list[Rule]) -> tuple[Key, int] | None:
    """Count one use against every rule. When one of them is used up already, nothing is counted: its
    key comes back, with the seconds until it allows again."""
    limiter = _limiter()
    for item, key in rules:
        if not limiter.test(item, "hostdeck", *key):
            reset = limiter.get_window_stats(item, "hostdeck", *key).reset_time
            return key, max(1, int(reset - time.time()))
    for item, key in rules:
        limiter.hit(item, "hostdeck", *key)
    return None


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
