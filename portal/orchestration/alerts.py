"""One e-mail to staff when an incident opens on a server: no secrets, no script."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app, render_template

from portal.extensions import db
from portal.models import BackendLog, Operation, Role, Server, User

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
    message = EmailMessage()
    message["Subject"] = f"[Hostdeck] {entry.state} on {server.name}"
    message["From"] = config["MAIL_FROM"]
    message["To"] = ", ".join(to)
    message.set_content(render_template("email/incident.txt", **context))
    message.add_alternative(render_template("email/incident.html", **context), subtype="html")
    try:
        send_mail(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("server %s: could not send the incident e-mail: %s", server.name, exc)
        return False
    return True


def send_mail(message: EmailMessage) -> None:
    """Send one message through the SMTP settings (incidents, password links); raises what smtplib raises."""
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(message)
