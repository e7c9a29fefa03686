"""Failures in plain words, and "Try again" for the customer's own failed object.

An object's `last_error` is what the worker wrote: a server's name, a script's last line of stderr,
paths. That stays for staff (the object's page while impersonating, the staff logs). Customers read
what failed by kind of object and kind of failure, worded here once, from what the orchestration
recorded: the object's failed (or waiting) operation, and its backend log's state (ERROR, TIMEOUT,
FAILURE, or a change one backend refused).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_request_context
from flask_login import current_user
from limits import RateLimitItemPerHour, RateLimitItemPerMinute

from portal.extensions import db
from portal.models import BackendLog, LogState, Operation, OpState, Status
from portal.models.kinds import KINDS, kind_of
from portal.models.status import Provisioned
from portal.orchestration.dispatch import applied_here
from portal.orchestration.operations import password_lost
from portal.orchestration.proof import NotProven
from portal.security import throttle
from portal.security.scoping import Actor, current_actor, get_scoped_or_404, scoped
from portal.services import ServiceError
from portal.services.orchestration import retry_object
from portal.words import gettext, lazy_gettext, ngettext

# "Try again": at most this many per object in ten minutes, and per login in an hour.
RETRIES_PER_OBJECT = 5
RETRIES_PER_LOGIN = 30


class Cause(enum.Enum):
    UNREACHABLE = enum.auto()  # ERROR: connection, authentication, host key
    TIMEOUT = enum.auto()
    FOLDER = enum.auto()  # the script could not make a folder
    DISK = enum.auto()
    PASSWORD = enum.auto()  # the server has no password for it, and Hostdeck has none left
    REFUSED = enum.auto()  # any other failed script, or a change one backend refused
    INTERNAL = enum.auto()  # the outcome could not be recorded (outcome.unstick)


@dataclass(frozen=True)
class Failure:
    words: str  # plain words, for everyone
    detail: str  # what the worker wrote (servers, paths, stderr): staff only
    retry: bool  # "Try again" may help
    new_password: bool  # it needs a new password instead


# What a customer calls each kind, and the server that holds it (by backend).
THINGS = {
    "Domain": lazy_gettext("domain"),
    "DnsRecord": lazy_gettext("DNS record"),
    "Mailbox": lazy_gettext("mailbox"),
    "Address": lazy_gettext("address"),
    "Database": lazy_gettext("database"),
    "DatabaseUser": lazy_gettext("database user"),
    "SystemUser": lazy_gettext("system user"),
    "WebApp": lazy_gettext("web app"),
    "Website": lazy_gettext("website"),
}
SERVERS = {
    "dovecot": lazy_gettext("mail server"),
    "postfix": lazy_gettext("mail server"),
    "nginx": lazy_gettext("web server"),
    "phpfpm": lazy_gettext("web server"),
    "mariadb": lazy_gettext("database server"),
    "postgresql": lazy_gettext("database server"),
    "unix": lazy_gettext("server"),
    "bind": lazy_gettext("DNS server"),
    "opendkim": lazy_gettext("mail server"),
}
if missing := {k.name for k in KINDS} - set(THINGS):
    raise RuntimeError(f"failures.THINGS lacks a word for {sorted(missing)}")


def _(message: str, **values: object) -> str:
    """gettext, typed (Flask-Babel ships no types); pybabel extracts _() calls too."""
    return str(gettext(message, **values))


def thing(obj: object) -> str:
    kind = kind_of(obj)
    name = kind.name if kind is not None else type(obj).__name__
    return str(THINGS.get(name, kind.singular if kind is not None else name))


def viewer_is_staff() -> bool:
    """Staff, or staff impersonating a customer: they may read servers, paths and stderr."""
    if not has_request_context():
        return False
    if "viewer_is_staff" not in g:  # a list asks once per row
        if current_user.is_authenticated:
            actor = current_actor()
            g.viewer_is_staff = actor.real_user is not None or actor.user.is_staff
        else:
            g.viewer_is_staff = False
    return bool(g.viewer_is_staff)


def _failed_ops(obj: Provisioned) -> list[tuple[Operation, BackendLog | None]]:
    """The object's operations that failed, or wait for a retry after failing, newest first."""
    rows = db.session.execute(
        sa.select(Operation, BackendLog)
        .outerjoin(BackendLog, Operation.backend_log_id == BackendLog.id)
        .where(
            Operation.object_type == type(obj).__name__,
            Operation.object_id == obj.id,
            sa.or_(
                Operation.state == OpState.FAILED,
                sa.and_(Operation.state == OpState.PENDING, Operation.attempts > 0),
            ),
        )
        .order_by(Operation.id.desc())
    ).all()
    return [(op, entry) for op, entry in rows]


def cause_of(last_error: str, op: Operation | None, entry: BackendLog | None) -> Cause:
    text = last_error or ""
    if text.startswith("Hostdeck could not record"):
        return Cause.INTERNAL
    if entry is None:
        return Cause.REFUSED
    if entry.state == LogState.ERROR:
        return Cause.UNREACHABLE
    if entry.state == LogState.TIMEOUT:
        return Cause.TIMEOUT
    if "has no password on the server yet" in text:
        return Cause.PASSWORD
    output = f"{text}\n{entry.stderr or ''}" if entry.state == LogState.FAILURE else text
    if "No space left on device" in output or "Disk quota exceeded" in output:
        return Cause.DISK
    if "cannot create directory" in output:
        return Cause.FOLDER
    return Cause.REFUSED


def words_for(cause: Cause, obj: object, op: Operation | None, waiting: bool) -> str:
    what = thing(obj)
    server = str(SERVERS.get(op.backend, lazy_gettext("server"))) if op is not None else _("server")
    deleting = op is not None and op.action == "delete"
    if cause == Cause.UNREACHABLE:
        if waiting:
            return _("The server could not be reached. We will try again.")
        return _("The server could not be reached. Support has been told.")
    if cause == Cause.TIMEOUT:
        if waiting:
            return _("The change took too long. We will try again.")
        return _("The change took too long. Support has been told.")
    if cause == Cause.INTERNAL:
        if waiting:
            return _("Something went wrong on our side. We will try again.")
        return _("Something went wrong on our side. Support has been told.")
    if cause == Cause.PASSWORD:
        return _("The %(server)s has no password for this %(thing)s. Please set a new one.", server=server, thing=what)
    if cause == Cause.DISK:
        return _("The %(server)s has run out of disk space. Support has been told.", server=server)
    if cause == Cause.FOLDER:
        return _(
            "The %(server)s could not create the %(thing)s folder. Support has been told.", server=server, thing=what
        )
    if deleting:
        return _("The %(server)s could not remove the %(thing)s. Support has been told.", server=server, thing=what)
    return _("The %(server)s could not set up the %(thing)s. Support has been told.", server=server, thing=what)


def nothing_to_explain(obj: Provisioned) -> bool:
    """Nothing failed, and nothing waits after a failure: explain() says None without a query."""
    return obj.status != Status.FAILED and not obj.last_error


def explain(obj: Provisioned) -> Failure | None:
    """What failed, in plain words; None when nothing failed (or nothing waits after a failure)."""
    if nothing_to_explain(obj):
        return None
    found = _failed_ops(obj)
    op, entry = found[0] if found else (None, None)
    failed = obj.status == Status.FAILED
    cause = cause_of(obj.last_error or "", op, entry)
    lost = failed and (cause == Cause.PASSWORD or password_lost(obj))
    words = words_for(cause, obj, op, waiting=not failed)
    if lost and cause != Cause.PASSWORD:
        words = _("This %(thing)s needs a new password before it can be set up.", thing=thing(obj))
    return Failure(words=words, detail=obj.last_error or "", retry=failed and not lost, new_password=lost)


def failed_here(actor: Actor) -> str | None:
    """After a commit that applied changes in this process (no Redis: the demo), what failed among the
    actor's objects in those scripts, in plain words; None when everything went through."""
    logs = applied_here()
    if not logs:
        return None
    ops = db.session.scalars(
        sa.select(Operation)
        .where(
            Operation.backend_log_id.in_(logs),
            sa.or_(
                Operation.state == OpState.FAILED,
                sa.and_(Operation.state == OpState.PENDING, Operation.attempts > 0),
            ),
        )
        .order_by(Operation.id)
    ).all()
    for op in ops:
        kind = next((k for k in KINDS if k.name == op.object_type), None)
        if kind is None:
            continue
        obj = db.session.scalars(scoped(kind.model, actor).where(kind.model.id == op.object_id)).first()
        if obj is None:
            continue
        failure = explain(obj)
        if failure is not None:
            return _("%(name)s: %(words)s", name=str(obj), words=failure.words)
    return None


class TooSoon(ServiceError):
    """Past a limit on "Try again": the page answers 429, with when to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def try_again(actor: Actor, model: type[Provisioned], object_id: int) -> Provisioned:
    """The customer's "Try again" on their own failed object: it is applied again, with its current
    state, on the servers where it failed. Throttled per object and per login."""
    obj = get_scoped_or_404(model, object_id, actor)
    what = thing(obj)
    if obj.status != Status.FAILED:
        raise ServiceError(_("This %(thing)s has not failed: there is nothing to try again.", thing=what))
    failure = explain(obj)
    if failure is not None and failure.new_password:
        raise ServiceError(_("This %(thing)s needs a new password: please set one below.", thing=what))
    user = actor.real_user or actor.user  # whoever clicks, staff behind a customer included
    spent = throttle.spend(
        [
            (RateLimitItemPerMinute(RETRIES_PER_OBJECT, 10), ("retry-object", f"{type(obj).__name__}:{obj.id}")),
            (RateLimitItemPerHour(RETRIES_PER_LOGIN), ("retry-user", str(user.id))),
        ]
    )
    if spent is not None:
        key, wait = spent
        minutes = wait // 60 + 1
        if key[0] == "retry-object":
            message = str(
                ngettext(
                    "This %(thing)s was tried again a moment ago. Please wait %(num)d minute.",
                    "This %(thing)s was tried again a moment ago. Please wait %(num)d minutes.",
                    minutes,
                    thing=what,
                )
            )
        else:
            message = str(
                ngettext(
                    "Too many tries. Please wait %(num)d minute.",
                    "Too many tries. Please wait %(num)d minutes.",
                    minutes,
                )
            )
        raise TooSoon(message, wait)
    try:
        retry_object(actor, obj)
    except NotProven as exc:
        raise ServiceError(str(exc)) from exc
    return obj
