"""The mail the portal sends (incidents, password links, confirmations, usage warnings): built one way,
sent through the SMTP settings. A mail follows a state already recorded, so a failure to send is
logged and answered False, never raised into the work that asked for it."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


def compose(to: str | list[str], subject: str, text: str, html: str | None = None) -> EmailMessage:
    """From MAIL_FROM; the HTML, when given, as an alternative to the text."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_mail(message: EmailMessage) -> None:
    """Raises what smtplib raises."""
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(message)


def deliver(message: EmailMessage, failure: str) -> bool:
    """Send; on failure log `failure` (what could not be sent, for the operator) and answer False."""
    try:
        send_mail(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("%s: %s", failure, exc)
        return False
    return True
