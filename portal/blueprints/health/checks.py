"""What /readyz asks before it says the portal can take work: each check a small function that returns
why it fails, or None; each warning one that returns what is amiss without failing readiness. Reasons
are plain words for a probe's reader; the raw error goes to the log."""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.orchestration.alerts import recipients
from portal.orchestration.queue import queue
from portal.security import throttle

log = logging.getLogger(__name__)
Check = Callable[[Flask], str | None]  # why the portal is not ready, or None
Warn = Callable[[Flask], str | None]  # what is amiss though the portal works, or None
SMTP_TIMEOUT_S = 3
SMTP_CACHE_S = 30  # a public URL must not open a connection to the mail relay on every hit
_smtp_seen: dict[tuple[str, int], tuple[float, str | None]] = {}


def database(app: Flask) -> str | None:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("readyz: the database does not answer: %s", exc)
        return "the database does not answer"
    finally:
        db.session.rollback()
    return None


def redis(app: Flask) -> str | None:
    q = queue(app)
    if q is None:
        return None  # no REDIS_URL: jobs run in the web process (the demo)
    try:
        q.connection.ping()
    except RedisError as exc:
        log.warning("readyz: Redis does not answer: %s", exc)
        return "Redis (REDIS_URL) does not answer"
    return None


def migrations(app: Flask) -> str | None:
    if "hostdeck.heads" not in app.extensions:  # the code's migrations change only with a new release
        app.extensions["hostdeck.heads"] = set(ScriptDirectory(app.extensions["migrate"].directory).get_heads())
    wanted: set[str] = app.extensions["hostdeck.heads"]
    try:
        with db.engine.connect() as conn:  # alembic's own reader would log two INFO lines a probe
            current = (
                set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
                if sa.inspect(conn).has_table("alembic_version")
                else set()
            )
    except SQLAlchemyError:
        return "cannot tell: the database does not answer"
    if current != wanted:
        at = ", ".join(sorted(current)) or "no migration"
        return f"the database is at {at}, the code expects {', '.join(sorted(wanted))}: run flask db upgrade"
    return None


def alerts(app: Flask) -> str | None:
    """Incidents can be mailed: a relay, someone to tell, and the relay answers."""
    host, port = app.config["SMTP_HOST"], app.config["SMTP_PORT"]
    if not host:
        return "SMTP_HOST is not set: incidents cannot be mailed to staff"
    try:
        if not recipients():
            return "no one to mail incidents to: ALERT_EMAILS is empty and no staff or admin login is active"
    except SQLAlchemyError:
        return "cannot tell who gets incidents: the database does not answer"
    finally:
        db.session.rollback()
    seen, reason = _smtp_seen.get((host, port), (0.0, None))
    if time.monotonic() - seen > SMTP_CACHE_S:
        reason = _smtp_answers(host, port)
        _smtp_seen[(host, port)] = (time.monotonic(), reason)
    return reason


def _smtp_answers(host: str, port: int) -> str | None:
    try:
        with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_S) as smtp:
            smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("readyz: the SMTP server %s:%s does not answer: %s", host, port, exc)
        return f"the SMTP server (SMTP_HOST {host}, port {port}) does not answer"
    return None


# In the order they are shown. A check that needs another (migrations needs the database) says so itself.
CHECKS: dict[str, Check] = {"database": database, "redis": redis, "migrations": migrations, "alerts": alerts}
WARNINGS: dict[str, Warn] = {
    # Failed logins counted in this process's memory while their storage (Redis) does not answer.
    "login_throttle": lambda app: throttle.fallback_warning(),
}


@dataclass
class Report:
    failing: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.failing

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": {
                name: {"ok": False, "reason": self.failing[name]} if name in self.failing else {"ok": True}
                for name in self.checked
            },
            "failing": sorted(self.failing),
            "warnings": self.warnings,
        }


def run(app: Flask) -> Report:
    report = Report()
    for name, check in CHECKS.items():
        report.checked.append(name)
        if (reason := _asked(name, check, app)) is not None:
            report.failing[name] = reason
    for name, warn in WARNINGS.items():
        if (said := _asked(name, warn, app)) is not None:
            report.warnings[name] = said
    return report


def _asked(name: str, check: Check, app: Flask) -> str | None:
    try:
        return check(app)
    except Exception:
        log.exception("readyz: the %s check failed", name)
        return "the check itself failed (see the portal's log)"
