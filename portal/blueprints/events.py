"""Audit events in plain words, for the customer's activity page and the staff console (both render
_macros/events.html, which calls these)."""

from __future__ import annotations

from portal.models import AuditEvent
from portal.models.kinds import KINDS
from portal.models.naming import in_unicode

DONE = {
    "save": "saved",
    "delete": "deleted",
    "create": "created",
    "limits": "limits changed",
    "suspend": "suspended",
    "resume": "made active again",
    "act_inside": "entered by its reseller",
    "password": "login password changed",
    "password_link": "sent a set-password link",
    "email": "login e-mail changed",
    "two_factor_on": "two-factor login turned on",
    "two_factor_off": "two-factor login turned off",
    "recovery_codes": "new recovery codes made",
    "timezone": "time zone changed",
    "retry": "retried with the current state",
    "resync": "resynced",
    "two_factor_reset": "two-factor login reset by an operator",
}
# What events name, by object type: every provisioned kind, and the other rows events are about.
NOUNS = {
    **{kind.name: kind.singular.capitalize() for kind in KINDS},
    "User": "Login",
    "BackendLog": "Backend log",
}


def _support(event: AuditEvent) -> str:
    real = event.real_actor
    return "Support" if real is None or real.is_staff else "Your reseller"


def describe_event(event: AuditEvent, own_account_id: int | None = None) -> str:
    fields = event.fields or {}
    whose = (
        "your account"
        if event.account_id == own_account_id
        else f"account {event.account.name}"
        if event.account
        else "the account"
    )
    if event.action == "impersonation.start":
        return f"{_support(event)} ({fields.get('by', '')}) accessed {whose}: {fields.get('reason', '')}"
    if event.action == "impersonation.stop":
        return (
            f"{_support(event)} ({fields.get('by', '')}) left {whose} after {fields.get('minutes', 0)} "
            f"minute(s), {fields.get('ended', 'stopped')}. The reason was: {fields.get('reason', '')}"
        )
    kind, _, verb = event.action.partition(".")
    # Names in Unicode, events recorded before they were stored that way included.
    words = f"{NOUNS.get(event.object_type, event.object_type or kind.title())} {in_unicode(event.object_name)}".strip()
    text = f"{words} {DONE.get(verb, verb.replace('_', ' '))}"
    if fields.get("password_changed"):
        text += " (new password)"
    rest = {k: v for k, v in fields.items() if k != "password_changed"}
    if rest:
        text += ": " + ", ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in rest.items())
    return text


def _value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(in_unicode(str(v)) for v in value) or "none"
    return in_unicode(str(value))


def event_actor(event: AuditEvent) -> str:
    """Who did it; with an impersonation, both people."""
    actor = in_unicode(event.actor.email) if event.actor else "Hostdeck"
    if event.real_actor is not None:
        role = "support" if event.real_actor.is_staff else "reseller"
        return f"{in_unicode(event.real_actor.email)} ({role}) as {actor}"
    return actor
