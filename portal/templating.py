"""Template filters, the frame every page shares, and error pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import DateTimePattern, parse_pattern
from flask import Flask, current_app, g, has_request_context, render_template, url_for
from flask_babel import get_locale, gettext, lazy_gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Forbidden, HTTPException, TooManyRequests

from portal.extensions import db
from portal.models import Status
from portal.models.naming import named
from portal.models.validators import address_in_unicode
from portal.security import impersonation, sessions
from portal.security.scoping import current_actor
from portal.services.failures import explain, viewer_is_staff
from portal.services.resellers import reseller_of

STATUS_LOOK = {
    Status.PENDING: (lazy_gettext("Pending"), "text-bg-warning"),
    Status.APPLIED: (lazy_gettext("Applied"), "text-bg-success"),
    Status.FAILED: (lazy_gettext("Failed"), "text-bg-danger"),
    Status.DELETING: (lazy_gettext("Deleting"), "text-bg-secondary"),
}


def _viewer_zone() -> ZoneInfo:
    viewer = current_user
    if current_user.is_authenticated:
        viewer = current_actor().real_user or current_user  # staff read times in their own zone
    try:
        return ZoneInfo(getattr(viewer, "timezone", None) or "UTC")
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


_PATTERNS: dict[str, tuple[Locale, DateTimePattern, DateTimePattern]] = {}


def _patterns() -> tuple[Locale, DateTimePattern, DateTimePattern]:
    """The locale's date and time patterns, parsed once: formatting a row's date then costs microseconds."""
    locale = get_locale() or Locale.parse("en")
    key = str(locale)
    if key not in _PATTERNS:
        skeletons = locale.datetime_skeletons
        _PATTERNS[key] = (locale, parse_pattern(skeletons["yMMMd"]), parse_pattern(skeletons["Hm"]))
    return _PATTERNS[key]


def localtime(value: datetime | None) -> str:
    """A UTC datetime in the viewer's timezone, written as their language writes dates ("Dec 2, 2026
    04:05 CET", "2 dic 2026 4:05 CET")."""
    if value is None:
        return ""
    if not has_request_context():
        zone = ZoneInfo("UTC")
    elif "viewer_zone" in g:  # a list page formats many dates: look the viewer up once
        zone = g.viewer_zone
    else:
        zone = g.viewer_zone = _viewer_zone()
    local = value.astimezone(zone)
    locale, date, time = _patterns()
    return f"{date.apply(local, locale)} {time.apply(local, locale)} {local.tzname()}"


# Python, not Jinja macros: a list page renders these once per row.
def status_badge(obj, url: str) -> Markup:
    """A status badge that static/js/status.js keeps up to date. A failed one says why on hover: its
    title holds the plain words of services/failures.py (status_error shows them beside it)."""
    label, css = STATUS_LOOK[obj.status]
    failure = _explained(obj) if obj.status == Status.FAILED else None
    return Markup(
        '<span class="badge {}" data-status-id="{:d}" data-status-url="{}" data-status="{}"{}>{}</span>'
    ).format(css, obj.id, url, obj.status, Markup(' title="{}"').format(failure.words) if failure else "", str(label))


def _explained(obj):
    """explain(obj), once per object and request: a row's badge and its error both ask."""
    if not has_request_context():
        return explain(obj)
    seen = g.setdefault("explained", {})
    key = (type(obj).__name__, obj.id, str(obj.status), obj.last_error)
    if key not in seen:
        seen[key] = explain(obj)
    return seen[key]


def status_error(obj) -> Markup:
    """Where the reason of a failure shows, in plain words (services/failures.py); static/js/status.js
    fills it in when one comes. Staff (impersonating, too) also read the raw detail. A failed object
    that a retry may help gets a "Try again" button (blueprints/retry), shown by status.js too."""
    failure = _explained(obj)
    html = Markup('<div class="text-danger small text-break" data-error-for="{:d}">{}</div>').format(
        obj.id, failure.words if failure else ""
    )
    if viewer_is_staff():
        html += Markup(
            '<div class="small text-muted font-monospace text-break" data-detail-for="{:d}">{}</div>'
        ).format(obj.id, failure.detail if failure else "")
    retry = bool(failure and failure.retry)
    if retry or obj.busy:
        url = _retry_url(obj)
        if url:
            html += Markup(
                '<form method="post" action="{}" data-retry-for="{:d}"{}>{}'
                '<button type="submit" class="btn btn-sm btn-outline-primary mt-1">{}</button></form>'
            ).format(url, obj.id, "" if retry else Markup(" hidden"), csrf_input(), gettext("Try again"))
    return html


def _retry_url(obj) -> str | None:
    """The "Try again" route of the object's kind (blueprints/retry), by its endpoint's one id argument."""
    endpoint = f"retry.{type(obj).__name__}"
    try:
        rule = next(iter(current_app.url_map.iter_rules(endpoint)))
    except KeyError:
        return None
    return url_for(endpoint, **{next(iter(rule.arguments)): obj.id})


class RowUrl:
    """url_for for the rows of a list: routed once, then each row's id is put in its place.

    `row_url('mailboxes.show', 'mailbox_id')(m.id)` is what `url_for('mailboxes.show', mailbox_id=m.id)`
    gives, at a fifth of the cost, which a 50-row page feels.
    """

    SENTINEL = 918273645

    def __init__(self, endpoint: str, id_arg: str, **values: Any) -> None:
        url = url_for(endpoint, **{id_arg: self.SENTINEL, **values})
        self.before, found, self.after = url.partition(str(self.SENTINEL))
        if not found or str(self.SENTINEL) in self.after:
            raise ValueError(f"{endpoint}: the id does not appear once in {url}")

    def __call__(self, object_id: int) -> str:
        return f"{self.before}{object_id:d}{self.after}"


def csrf_input() -> Markup:
    """The CSRF field for hand-written forms. A page of rows with a form each renders it once:
    the token is the same for every form of the session."""
    if "csrf_input" not in g:
        g.csrf_input = Markup('<input name="csrf_token" type="hidden" value="%s">') % generate_csrf()
    return g.csrf_input


def _described(error: Exception, kind: type[HTTPException], default: str) -> str:
    """The words a view gave the error (abort(403, "...")), else the page's own."""
    if isinstance(error, kind) and error.description != kind.description:
        return str(error.description)
    return default


def init_app(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["in_unicode"] = address_in_unicode
    app.jinja_env.filters["named"] = named  # an object's name for people (models/naming.py)
    app.jinja_env.globals["csrf_input"] = csrf_input
    app.jinja_env.globals["STATUS_LOOK"] = {str(k): v for k, v in STATUS_LOOK.items()}
    app.jinja_env.globals.update(status_badge=status_badge, status_error=status_error, row_url=RowUrl)

    @app.context_processor
    def who():
        """What every page's frame shows: the acting account, reseller links, the impersonation banner.
        (Its forms carry csrf_input(); no form objects are built for them.)"""
        # E-mails are rendered by jobs, outside any request.
        if not has_request_context():
            return {}
        context: dict[str, Any] = {}
        if current_user.is_authenticated:
            actor = current_actor()
            context.update(acting=actor.acting, is_reseller=reseller_of(actor) is not None)
            if actor.real_user is not None:
                row = sessions.required()
                context.update(
                    impersonator=actor.real_user,
                    impersonation_reason=row.reason,
                    impersonation_ends=impersonation.ends_at(row),
                )
        return context

    # The words are lazy: each error page is in the language of the request it answers.
    def page(code: int, title: Any, message: Any):
        def handler(error):
            if code >= 500:
                db.session.rollback()  # a failed flush must not break the error page too
            return render_template("errors/error.html", code=code, title=str(title), message=str(message)), code

        return handler

    @app.errorhandler(IntegrityError)
    def conflict(error):
        # Two requests made the same name at once; the database kept one. Nothing of this one stays.
        db.session.rollback()
        return render_template(
            "errors/error.html",
            code=409,
            title=gettext("Changed at the same time"),
            message=gettext(
                "Someone made the same change a moment ago, so nothing was saved. Please go back, reload and try again."
            ),
        ), 409

    def forbidden(error):
        message = _described(error, Forbidden, gettext("You may not do this."))
        return render_template("errors/error.html", code=403, title=gettext("Not allowed"), message=message), 403

    app.register_error_handler(403, forbidden)
    app.register_error_handler(
        400, page(400, lazy_gettext("Bad request"), lazy_gettext("The request could not be understood."))
    )
    app.register_error_handler(
        CSRFError,
        page(
            400,
            lazy_gettext("Form expired"),
            lazy_gettext("The form was out of date. Please go back, reload and try again."),
        ),
    )
    app.register_error_handler(
        404, page(404, lazy_gettext("Not found"), lazy_gettext("There is nothing here, or it is not yours to see."))
    )

    def too_many(error):
        # A wrong two-factor code says so (security/totp.py); a login keeps the default words.
        message = _described(error, TooManyRequests, gettext("Too many failed logins. Wait a minute and try again."))
        return render_template("errors/error.html", code=429, title=gettext("Too many attempts"), message=message), 429

    app.register_error_handler(429, too_many)
    app.register_error_handler(
        500,
        page(
            500, lazy_gettext("Something went wrong"), lazy_gettext("Our team has been told. Please try again later.")
        ),
    )
