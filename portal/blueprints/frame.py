"""The frame every page shares: the navigation (grouped links, the current one marked), the
versioned URLs of static files and the icons.

Customers (and resellers, and staff while they impersonate) get the customer's sections; staff and
admins on their own get theirs, not the customer's with extras. A link is current when the page
belongs to its section: a mailbox's page marks "Mailboxes".
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, has_request_context, request, url_for
from flask_babel import format_decimal, format_number
from flask_login import current_user
from markupsafe import Markup, escape

from portal.models.kinds import ALL_LIMITS
from portal.models.metering import MIB
from portal.models.naming import named
from portal.security.scoping import current_actor
from portal.services.overview import fullness
from portal.services.resellers import reseller_of
from portal.words import gettext, locale_now
from portal.words import lazy_gettext as _l


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: Any  # a lazy string: the words follow the request's language
    icon: str
    # The endpoint prefixes whose pages belong here ("mailboxes." marks every mailbox page).
    owns: tuple[str, ...] = ()

    def current(self, endpoint: str) -> bool:
        return endpoint == self.endpoint or any(endpoint.startswith(prefix) for prefix in self.owns)


@dataclass(frozen=True)
class Group:
    label: Any  # None: links shown without a heading
    links: tuple[Link, ...]


CUSTOMER = (
    Group(None, (Link("dashboard.index", _l("Dashboard"), "speedometer2", ("dashboard.",)),)),
    Group(
        _l("Mail"),
        (
            Link("domains.index", _l("Domains"), "globe", ("domains.",)),
            Link("mailboxes.index", _l("Mailboxes"), "inbox", ("mailboxes.",)),
            Link("addresses.index", _l("Addresses"), "at", ("addresses.",)),
        ),
    ),
    Group(
        _l("Web"),
        (
            Link("system_users.index", _l("System users"), "terminal", ("system_users.",)),
            Link("webapps.index", _l("Web apps"), "window-stack", ("webapps.",)),
            Link("websites.index", _l("Websites"), "globe", ("websites.",)),
        ),
    ),
    Group(
        None,
        (
            Link("databases.index", _l("Databases"), "database", ("databases.",)),
            Link("activity.index", _l("Activity"), "clock-history", ("activity.",)),
        ),
    ),
)
RESELLER = Group(_l("Reseller"), (Link("reseller.accounts", _l("Sub-accounts"), "people", ("reseller.",)),))
STAFF = (
    Group(
        None,
        (
            Link("staff.accounts", _l("Accounts"), "people", ("staff.account", "impersonation.")),
            Link("staff.events", _l("Audit trail"), "shield-lock", ("staff.event",)),
            Link("staff.logs", _l("Backend logs"), "journal-text", ("staff.log",)),
            Link("staff.servers", _l("Servers"), "hdd-stack", ("staff.server",)),
            Link("staff.plans", _l("Plans"), "card-list", ("staff.plan",)),
        ),
    ),
)


def _groups() -> tuple[str, tuple[Group, ...]]:
    """Which navigation this user gets, by name, and its groups."""
    actor = current_actor()
    if current_user.is_staff and actor.real_user is None:
        return "staff", STAFF
    if reseller_of(actor) is not None:
        return "reseller", (*CUSTOMER, RESELLER)
    return "customer", CUSTOMER


def sections() -> tuple[Group, ...]:
    """The groups this user's navigation shows (links to pages the app does not have are left out)."""
    if not current_user.is_authenticated:
        return ()
    known = current_app.view_functions
    return tuple(
        Group(group.label, tuple(link for link in group.links if link.endpoint in known)) for group in _groups()[1]
    )


CURRENT = ' aria-current="page"'
_SIDEBARS: dict[tuple[Any, ...], Markup] = {}


def sidebar_links(endpoint: str) -> Markup:
    """The sidebar's groups of links, the current one marked. The same for everyone of a kind, language
    and page, so written once per process for each: every page shows it."""
    name, _ = _groups()
    key = (id(current_app), name, str(locale_now()), endpoint, request.script_root)
    found = _SIDEBARS.get(key)
    if found is None:
        html = []
        for group in sections():
            if not group.links:
                continue
            if group.label:
                html.append(f'<h2 class="sidebar-heading">{escape(group.label)}</h2>')
            html.append('<ul class="nav nav-pills flex-column mb-2">')
            for link in group.links:
                current = link.current(endpoint)
                html.append(
                    f'<li class="nav-item"><a class="nav-link d-flex align-items-center gap-2{" active" * current}"'
                    f' href="{escape(url_for(link.endpoint))}"{CURRENT * current}>'
                    f"{icon(link.icon)} {escape(link.label)}</a></li>"
                )
            html.append("</ul>")
        found = _SIDEBARS[key] = Markup("".join(html))  # noqa: S704 every value is escaped or one of ours
    return found


_versions: dict[str, tuple[float, str]] = {}


def version(filename: str) -> str:
    """A short hash of a static file, recomputed when the file changes (a deploy, an edit in the demo)."""
    path = os.path.join(current_app.static_folder or "", filename)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return "0"
    known = _versions.get(path)
    if known is None or known[0] != mtime:
        with open(path, "rb") as file:
            known = _versions[path] = (mtime, hashlib.sha256(file.read()).hexdigest()[:10])
    return known[1]


_STATIC_URLS: dict[tuple[str, str], str] = {}


def static_url(filename: str) -> str:
    """url_for('static', filename=...) with its version, routed once per process and file: every page
    names half a dozen. In debug (the demo) it follows edits to the files."""
    if current_app.debug:
        return url_for("static", filename=filename)
    key = (filename, request.script_root if has_request_context() else "")
    found = _STATIC_URLS.get(key)
    if found is None:
        found = _STATIC_URLS[key] = url_for("static", filename=filename)
    return found


def icon(name: str, css: str = "") -> Markup:
    """An icon from the committed sprite (scripts/vendor-assets.sh picks them); the words beside it say
    what it means, so screen readers skip it."""
    href = static_url("vendor/icons.svg")
    return Markup(  # noqa: S704 every value is escaped
        f'<svg class="bi {escape(css)}" width="16" height="16" aria-hidden="true" focusable="false">'
        f'<use href="{escape(href)}#{escape(name)}"></use></svg>'
    )


# What Babel writes for the viewer's language, kept per process: 20 µs a number, and a page shows dozens.
_WRITTEN: dict[tuple[str, str, int], str] = {}


def _written(kind: str, value: int, write: Callable[[int], str]) -> str:
    key = (kind, str(locale_now()), value)
    found = _WRITTEN.get(key)
    if found is None:
        if len(_WRITTEN) > 8192:
            _WRITTEN.clear()
        found = _WRITTEN[key] = write(value)
    return found


def number(value: int) -> str:
    """A whole number as the viewer's language writes it ("1,024", "1024")."""
    return _written("number", value, format_number)


def megabytes(size: int) -> str:
    """A size in MB, the number as the viewer's language writes it ("1,024 MB", "1024 MB")."""
    return _written("MB", size, lambda n: gettext("%(size)s MB", size=number(n)))


# Sizes count in 1024s, as the quotas' MB do.
_UNITS = ((1 << 40, "TB"), (1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB"))


def _size_words(size: int) -> str:
    for factor, unit in _UNITS:
        if size >= factor:
            shown = format_decimal(round(size / factor, 1 if size < 10 * factor else 0), "#,##0.#")
            if unit == "TB":
                return gettext("%(size)s TB", size=shown)
            if unit == "GB":
                return gettext("%(size)s GB", size=shown)
            if unit == "MB":
                return gettext("%(size)s MB", size=shown)
            return gettext("%(size)s KB", size=shown)
    return gettext("%(size)s bytes", size=number(size))


def size(value: int) -> str:
    """A measured size in bytes for people ("1.5 GB", "1,5 GB", "512 KB"), as the viewer's language writes it."""
    return _written("size", value, _size_words)


def use_cell(used: int | None, quota_mb: int) -> Markup:
    """A mailbox list's usage cell: its size against its quota, in words and as a bar. Python, not a
    macro: a list renders it once per row (an f-string of escaped values, as templating's row helpers)."""
    if used is None:
        words = escape(gettext("not measured yet"))  # outside the f-string: pybabel does not look inside one
        return Markup(f'<span class="text-body-secondary">{words}</span>')  # noqa: S704 escaped
    percent, level = fullness(used, quota_mb * MIB)
    words = escape(gettext("%(used)s of %(quota)s", used=size(used), quota=megabytes(quota_mb)))
    label = escape(gettext("Mail stored"))
    return Markup(  # noqa: S704 every value is escaped or a number
        f'<span class="small">{words}</span><progress class="usage-bar usage-{level}" max="100"'
        f' value="{percent:d}" aria-label="{label}">{percent:d}%</progress>'
    )


def limit_words(limit: str) -> str:
    """What a limit counts, for people ("mailboxes", "MB of mail quota"), capitalised for a label."""
    words = str(ALL_LIMITS.get(limit, limit))
    return words[:1].upper() + words[1:]


def init_app(app: Flask) -> None:
    app.add_template_global(icon)
    app.add_template_global(static_url)
    app.add_template_global(sidebar_links)
    app.add_template_global(limit_words)
    app.add_template_global(use_cell)
    app.add_template_global(named)
    app.add_template_filter(number)
    app.add_template_filter(megabytes)
    app.add_template_filter(size)

    @app.after_request
    def static_read_whole(response: Response) -> Response:
        # A static file is sent in one piece, so that Flask-Compress compresses it: its streaming path
        # would lose the file's close() (COMPRESS_STREAMS is off for that reason).
        if request.endpoint == "static" and response.is_streamed and response.status_code == 200:
            response.direct_passthrough = False
            response.make_sequence()
        return response

    @app.url_defaults
    def versioned_static(endpoint: str, values: dict[str, Any]) -> None:
        # Every static URL names its file's version: a changed file is a new URL, so caching a year is safe.
        if endpoint == "static" and "v" not in values and "filename" in values:
            values["v"] = version(values["filename"])

    @app.context_processor
    def navigation() -> dict[str, Any]:
        if not has_request_context() or not current_user.is_authenticated:
            return {}
        return {
            "nav_endpoint": request.endpoint or "",
            # A reseller's account switcher (its list is fetched when opened: reseller.switch_targets).
            "switcher": reseller_of(current_actor()) is not None,
        }
