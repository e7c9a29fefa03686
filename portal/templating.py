"""Template filters, the frame every page shares, and error pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import DateTimePattern, parse_pattern
from flask import Flask, current_app, g, has_request_context, render_template, url_for
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Forbidden, HTTPException, TooManyRequests

from portal.extensions import db
from portal.models import Status
from portal.models.naming import named
from portal.models.validators import address_in_unicode
from portal.orchestration.proof import proof_words
from portal.security import cookies, impersonation, sessions
from portal.security.scoping import current_actor
from portal.services.failures import explain, nothing_to_explain, viewer_is_staff
from portal.services.resellers import reseller_of
from portal.words import gettext, lazy_gettext, locale_now

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


class _Clock:
    """A locale's date and time formats, parsed once. A list page formats a date per row, and many
    rows share a day or a minute: each is written once per process and locale."""

    def __init__(self, locale: Locale) -> None:
        skeletons = locale.datetime_skeletons
        self.locale = locale
        self.date_pattern: DateTimePattern = parse_pattern(skeletons["yMMMd"])
        self.time_pattern: DateTimePattern = parse_pattern(skeletons["Hm"])
        self.short_day_pattern: DateTimePattern = parse_pattern(skeletons["MMMd"])
        self.days: dict[tuple[int, int, int], str] = {}
        self.minutes: dict[tuple[int, int], str] = {}

    def write(self, local: datetime) -> str:
        day = (local.year, local.month, local.day)
        date = self.days.get(day)
        if date is None:
            if len(self.days) > 4096:  # bounded: a long-lived worker sees many days
                self.days.clear()
            date = self.days[day] = self.date_pattern.apply(local, self.locale)
        minute = (local.hour, local.minute)
        time = self.minutes.get(minute)
        if time is None:
            time = self.minutes[minute] = self.time_pattern.apply(local, self.locale)
        return f"{date} {time} {local.tzname()}"


_CLOCKS: dict[str, _Clock] = {}


def _clock() -> _Clock:
    locale = (locale_now() if has_request_context() else get_locale()) or Locale.parse("en")
    key = str(locale)
    if key not in _CLOCKS:
        _CLOCKS[key] = _Clock(locale)
    return _CLOCKS[key]


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
    return _clock().write(value.astimezone(zone))


def day(value: date, short: bool = False) -> str:
    """A calendar day (a chart's UTC day) as the viewer's language writes it: "Dec 4, 2026", short "Dec 4"."""
    clock = _clock()
    return (clock.short_day_pattern if short else clock.date_pattern).apply(value, clock.locale)


def _status_words() -> dict[Status, tuple[str, str]]:
    """STATUS_LOOK in the request's language, escaped, once per request (a list asks once per row)."""
    if has_request_context() and "status_words" in g:
        return g.status_words
    words = {k: (str(escape(label)), css) for k, (label, css) in STATUS_LOOK.items()}
    if has_request_context():
        g.status_words = words
    return words


# Python, not Jinja macros: a list page renders these once per row, so they are f-strings of
# escaped values (Markup.format costs ten times as much).
def status_badge(obj, url: str) -> Markup:
    """A status badge that static/js/status.js keeps up to date. A failed one says why on hover: its
    title holds the plain words of services/failures.py (status_error shows them beside it)."""
    label, css = _status_words()[obj.status]
    failure = _explained(obj) if obj.status == Status.FAILED else None
    title = f' title="{escape(failure.words)}"' if failure else ""
    return Markup(  # noqa: S704 every value is escaped, an int or one of ours
        f'<span class="badge {css}" data-status-id="{int(obj.id)}" data-status-url="{escape(url)}"'
        f' data-status="{obj.status}"{title}>{label}</span>'
    )


def _explained(obj):
    """explain(obj), once per object and request: a row's badge and its error both ask."""
    if nothing_to_explain(obj):
        return None
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
    html = f'<div class="text-danger small text-break" data-error-for="{int(obj.id)}">{escape(failure.words) if failure else ""}</div>'
    if viewer_is_staff():
        detail = escape(failure.detail) if failure else ""
        html += (
            f'<div class="small text-muted font-monospace text-break" data-detail-for="{int(obj.id)}">{detail}</div>'
        )
    retry = bool(failure and failure.retry)
    if retry or obj.busy:
        url = _retry_url(obj)
        if url:
            again = escape(gettext("Try again"))  # outside the f-string: pybabel does not look inside one
            html += (
                f'<form method="post" action="{escape(url)}" data-retry-for="{int(obj.id)}"{"" if retry else " hidden"}>'
                f'{csrf_input()}<button type="submit" class="btn btn-sm btn-outline-primary mt-1">'
                f"{again}</button></form>"
            )
    return Markup(html)  # noqa: S704 every value is escaped, an int or one of ours


def cut(name, url: str | None = None, length: int = 40) -> Markup:
    """A name cut short in a table cell, whole in its title (and on the object's own page). The middle
    goes, so both ends stay readable: a long local part keeps its domain."""
    name = str(name)
    short = name if len(name) <= length else f"{name[: length - 16]}…{name[-15:]}"
    title = f' title="{escape(name)}"' if short != name else ""
    if url:
        return Markup(f'<a href="{escape(url)}"{title}>{escape(short)}</a>')  # noqa: S704 escaped
    return Markup(f"<span{title}>{escape(short)}</span>") if title else escape(short)  # noqa: S704 escaped


def account_cell(listing, account_id: int) -> Markup:
    """The account a row belongs to, for a reseller (its own or a sub-account's)."""
    if not listing.accounts:
        return Markup("")
    return Markup(f'<td class="text-nowrap">{cut(listing.names.get(account_id, ""), length=24)}</td>')  # noqa: S704 escaped


def _retry_url(obj) -> str | None:
    """The "Try again" route of the object's kind (blueprints/retry), by its endpoint's one id argument:
    routed once per kind and request (a list of pending rows asks once per row)."""
    routes = g.setdefault("retry_urls", {})
    kind = type(obj).__name__
    if kind not in routes:
        endpoint = f"retry.{kind}"
        try:
            rule = next(iter(current_app.url_map.iter_rules(endpoint)))
        except KeyError:
            routes[kind] = None
        else:
            routes[kind] = RowUrl(endpoint, next(iter(rule.arguments)))
    route = routes[kind]
    return route(obj.id) if route else None


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
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["in_unicode"] = address_in_unicode
    app.jinja_env.filters["named"] = named  # an object's name for people (models/naming.py)
    app.jinja_env.globals["csrf_input"] = csrf_input
    app.jinja_env.globals["proof_words"] = proof_words  # a domain's proof state, in the reader's language
    app.jinja_env.globals["STATUS_LOOK"] = {str(k): v for k, v in STATUS_LOOK.items()}
    app.jinja_env.globals.update(
        status_badge=status_badge, status_error=status_error, row_url=RowUrl, cut=cut, account_cell=account_cell
    )

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
    expired = page(
        400,
        lazy_gettext("Form expired"),
        lazy_gettext("The form was out of date. Please go back, reload and try again."),
    )

    def form_refused(error):
        # No session cookie at all: the browser dropped it, and reloading would not help (security/cookies.py).
        words = cookies.trouble()
        if words is None:
            return expired(error)
        return render_template("errors/cookies.html", message=words), 400

    app.register_error_handler(CSRFError, form_refused)
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
