"""The frame every page shares: the navigation (grouped links, the current one marked), the
versioned URLs of static files and the icons.

Customers (and resellers, and staff while they impersonate) get the customer's sections; staff and
admins on their own get theirs, not the customer's with extras. A link is current when the page
belongs to its section: a mailbox's page marks "Mailboxes".
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request, url_for
from flask_babel import format_number
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from portal.models import LIMITS
from portal.models.naming import named
from portal.security.scoping import current_actor
from portal.services.resellers import reseller_of


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


def sections() -> tuple[Group, ...]:
    """The groups this user's navigation shows (links to pages the app does not have are left out)."""
    if not current_user.is_authenticated:
        return ()
    actor = current_actor()
    if current_user.is_staff and actor.real_user is None:
        groups: tuple[Group, ...] = STAFF
    else:
        groups = CUSTOMER + ((RESELLER,) if reseller_of(actor) is not None else ())
    known = current_app.view_functions
    return tuple(Group(group.label, tuple(link for link in group.links if link.endpoint in known)) for group in groups)


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


def icon(name: str, css: str = "") -> Markup:
    """An icon from the committed sprite (scripts/vendor-assets.sh picks them); the words beside it say
    what it means, so screen readers skip it."""
    href = g.get("icons_url")
    if href is None:  # a page shows a dozen icons: route the sprite's URL once
        href = g.icons_url = url_for("static", filename="vendor/icons.svg")
    return Markup(
        '<svg class="bi {}" width="16" height="16" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>'
    ).format(css, href, name)


def limit_words(limit: str) -> str:
    """What a limit counts, for people ("mailboxes", "MB of mail quota"), capitalised for a label."""
    words = str(LIMITS.get(limit, limit))
    return words[:1].upper() + words[1:]


def init_app(app: Flask) -> None:
    app.add_template_global(icon)
    app.add_template_global(limit_words)
    app.add_template_global(named)
    app.add_template_filter(format_number, "number")

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
            "nav_sections": sections(),
            "nav_endpoint": request.endpoint or "",
            # A reseller's account switcher (its list is fetched when opened: reseller.switch_targets).
            "switcher": reseller_of(current_actor()) is not None,
        }
