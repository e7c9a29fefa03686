"""One "Try again" route per kind (models/kinds.py), each beside the object's own pages and named by
the kind (`retry.Mailbox`), which templating.status_error renders as a button on a failed object.

A POST (CSRF) on the customer's own object: someone else's is a 404, like a missing one. It is
refused in plain words when the object has not failed or needs a new password first, and throttled
(services/failures.py: try_again).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for

from portal.blueprints.common import saved
from portal.extensions import db
from portal.models.kinds import KINDS, Kind
from portal.security.roles import customer
from portal.security.scoping import current_actor
from portal.services import ServiceError
from portal.services.failures import TooSoon, try_again
from portal.words import gettext

bp = Blueprint("retry", __name__)

# Each kind: where its "Try again" posts, and the page it comes back to (with the same id argument).
PAGES = {
    "Domain": ("/domains/<int:domain_id>/retry", "domains.show"),
    "DnsRecord": ("/dns/records/<int:record_id>/retry", "dns.edit"),
    "Mailbox": ("/mailboxes/<int:mailbox_id>/retry", "mailboxes.show"),
    "Address": ("/addresses/<int:address_id>/retry", "addresses.edit"),
    "Database": ("/databases/<int:database_id>/retry", "databases.index"),
    "DatabaseUser": ("/databases/users/<int:db_user_id>/retry", "databases.user"),
    "SystemUser": ("/system-users/<int:user_id>/retry", "system_users.show"),
    "WebApp": ("/webapps/<int:app_id>/retry", "webapps.edit"),
    "Website": ("/websites/<int:website_id>/retry", "websites.edit"),
}
if missing := {k.name for k in KINDS} - set(PAGES):
    raise RuntimeError(f"retry.PAGES lacks a route for {sorted(missing)}")


def _back(page: str, arg: str, object_id: int) -> str:
    values: dict[str, Any] = {} if page == "databases.index" else {arg: object_id}
    return url_for(page, **values)


def _view(kind: Kind, rule: str, page: str):
    arg = rule.split("<int:", 1)[1].split(">", 1)[0]

    def view(**ids: int):
        object_id = ids[arg]
        back = _back(page, arg, object_id)
        try:
            obj = try_again(current_actor(), kind.model, object_id)
        except TooSoon as refused:  # past a limit: 429, and the page says when to try again
            db.session.rollback()
            page_html = render_template(
                "errors/error.html", code=429, title=gettext("Too many attempts"), message=refused.message
            )
            return page_html, 429, {"Retry-After": str(refused.retry_after)}
        except ServiceError as refused:
            db.session.rollback()
            flash(refused.message, "warning")
            return redirect(back)
        return saved(gettext("%(name)s is being applied again.", name=str(obj)), back)

    view.__name__ = f"retry_{kind.name}"
    return customer(view)


for _kind in KINDS:
    _rule, _page = PAGES[_kind.name]
    bp.add_url_rule(_rule, endpoint=_kind.name, view_func=_view(_kind, _rule, _page), methods=["POST"])
