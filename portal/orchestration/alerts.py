"""One e-mail to staff when an incident opens on a server: no secrets, no script. And one to the
confirmed emergency contact of each account whose changes it holds up, in the contact's language."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale

from portal.extensions import db
from portal.models import Account, BackendLog, Operation, Role, Server, User
from portal.orchestration.contacts import contact_locale, owners, page_url
from portal.orchestration.mailer import compose, deliver
from portal.words import gettext

log = logging.getLogger(__name__)


def recipients() -> list[str]:
    configured = [a.strip() for a in current_app.config["ALERT_EMAILS"].split(",") if a.strip()]
    if configured:
        return configured
    return list(
        db.session.scalars(
            sa.select(User.email)
            .where(User.role.in_((Role.STAFF, Role.ADMIN)), User.active.is_(True))
            .order_by(User.email)
        )
    )


def describe(op: Operation) -> str:
    name = (op.payload or {}).get("user") or f"#{op.object_id}"
    return f"{op.object_type} {name} ({op.action})"


def send_incident(server: Server, entry: BackendLog, reason: str, ops: list[Operation]) -> bool:
    config = current_app.config
    to = recipients()
    if not config["SMTP_HOST"] or not to:
        log.warning("server %s: incident (log %s) but no SMTP_HOST or recipients to tell", server.name, entry.id)
        return False
    context = {
        "server": server,
        "entry": entry,
        "reason": reason,
        "objects": [describe(op) for op in ops],
        "link": f"{config['PUBLIC_URL'].rstrip('/')}/staff/logs/{entry.id}",
    }
    message = compose(
        to,
        f"[Hostdeck] {entry.state} on {server.name}",
        render_template("email/incident.txt", **context),
        render_template("email/incident.html", **context),
    )
    return deliver(message, f"server {server.name}: could not send the incident e-mail")


def tell_accounts(ops: list[Operation]) -> int:
    """The accounts whose changes the incident holds up hear it at their confirmed emergency contact
    (their owners see it on their pages already: no mail to them). How many were told; a failure is logged."""
    config = current_app.config
    if not config["SMTP_HOST"]:
        return 0
    told = 0
    ids = sorted({op.account_id for op in ops if op.account_id is not None})
    for account in db.session.scalars(sa.select(Account).where(Account.id.in_(ids)).order_by(Account.id)):
        if not account.emergency_email or account.emergency_confirmed_at is None:
            continue
        with force_locale(contact_locale(account.emergency_email, owners(account))):
            context = {"account": account.name, "link": page_url("dashboard.index", {})}
            subject = gettext("Changes to %(account)s are held up", account=account.name)
            text = render_template("email/incident_account.txt", **context)
            html = render_template("email/incident_account.html", **context)
        failure = f"account {account.id}: could not tell the emergency contact of an incident"
        told += deliver(compose(account.emergency_email, subject, text, html), failure)
    return told
