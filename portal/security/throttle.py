"""Failed-login throttling per account and per IP, shared through Redis when there is one."""

from __future__ import annotations

from flask import Flask, current_app
from limits import RateLimitItemPerMinute, storage, strategies


def init_app(app: Flask) -> None:
    uri = app.config["RATELIMIT_STORAGE_URI"] or app.config["REDIS_URL"] or "memory://"
    app.extensions["hostdeck.throttle"] = strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))


def _limit() -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"])


def _keys(email: str, ip: str) -> list[tuple[str, str]]:
    return [("login-account", email.strip().lower()), ("login-ip", ip)]


def login_blocked(email: str, ip: str) -> bool:
    limiter = current_app.extensions["hostdeck.throttle"]
    return any(not limiter.test(_limit(), "hostdeck", *key) for key in _keys(email, ip))


def login_failed(email: str, ip: str) -> None:
    limiter = current_app.extensions["hostdeck.throttle"]
    for key in _keys(email, ip):
        limiter.hit(_limit(), "hostdeck", *key)
