"""Audit events in plain words, for the customer's activity page and the staff console (both render
_macros/events.html, which calls these).

Each event is one whole sentence with placeholders ("%(thing)s saved"), so a language puts the words
in its own order. The object's noun comes from `_nouns()` (with the context "activity", so a language
may give it its article); what an event stored (names, reasons, field values) stays as it was written.
"""

from __future__ import annotations

import re

from portal.models import AuditEvent
from portal.models.kinds import KINDS
from portal.models.naming import in_unicode
from portal.words import gettext, lazy_gettext, ngettext, pgettext

# What happened, by the action's verb ("mailbox.save" -> "save"): `thing` is what it happened to.
DONE = {
    "save": lazy_gettext("%(thing)s saved"),
    "delete": lazy_gettext("%(thing)s deleted"),
    "create": lazy_gettext("%(thing)s created"),
    "edit": lazy_gettext("%(thing)s changed"),
    "limits": lazy_gettext("%(thing)s: limits changed"),
    "plan": lazy_gettext("%(thing)s: plan changed"),
    "quota": lazy_gettext("%(thing)s: quota changed"),
    "verify": lazy_gettext("%(thing)s verified"),
    "suspend": lazy_gettext("%(thing)s suspended"),
    "resume": lazy_gettext("%(thing)s made active again"),
    "act_inside": lazy_gettext("%(thing)s entered by its reseller"),
    "password": lazy_gettext("%(thing)s: login password changed"),
    "password_link": lazy_gettext("%(thing)s: a set-password link was sent"),
    "email": lazy_gettext("%(thing)s: login e-mail changed"),
    "two_factor_on": lazy_gettext("%(thing)s: two-factor login turned on"),
    "two_factor_off": lazy_gettext("%(thing)s: two-factor login turned off"),
    "recovery_codes": lazy_gettext("%(thing)s: new recovery codes made"),
    "timezone": lazy_gettext("%(thing)s: time zone changed"),
    "locale": lazy_gettext("%(thing)s: language changed"),
    "retry": lazy_gettext("%(thing)s retried with the current state"),
    "resync": lazy_gettext("%(thing)s resynced"),
    "two_factor_reset": lazy_gettext("%(thing)s: two-factor login reset by an operator"),
    "repin": lazy_gettext("%(thing)s: host key re-pinned"),
    "route": lazy_gettext("%(thing)s: a backend routed to it"),
    "unroute": lazy_gettext("%(thing)s: a route removed"),
    "remove": lazy_gettext("%(thing)s removed"),
    "place": lazy_gettext("%(thing)s placed on servers"),
    "unplace": lazy_gettext("%(thing)s taken off servers"),
    "dkim_rotate": lazy_gettext("%(thing)s: a new DKIM key asked for"),
    "emergency_contact": lazy_gettext("%(thing)s: emergency contact changed"),
    "emergency_confirmed": lazy_gettext("%(thing)s: emergency contact confirmed"),
    "revoke": lazy_gettext("%(thing)s revoked"),
}
# The names of the fields events keep, for people; a field not named here reads as its key.
FIELDS = {
    "from": lazy_gettext("from"),
    "to": lazy_gettext("to"),
    "was": lazy_gettext("was"),
    "via": lazy_gettext("via"),
    "how": lazy_gettext("how"),
    "name": lazy_gettext("name"),
    "owner": lazy_gettext("owner"),
    "plan": lazy_gettext("plan"),
    "reason": lazy_gettext("reason"),
    "objects": lazy_gettext("objects"),
    "servers": lazy_gettext("servers"),
    "forwards": lazy_gettext("forwards"),
    "timezone": lazy_gettext("time zone"),
    "locale": lazy_gettext("language"),
    "quota_mb": lazy_gettext("quota (MB)"),
    "waiting_for_proof": lazy_gettext("waiting for proof"),
    "host": lazy_gettext("address"),
    "port": lazy_gettext("port"),
    "ssh_user": lazy_gettext("SSH user"),
    "set": lazy_gettext("settings set"),
    "unset": lazy_gettext("settings unset"),
    "backend": lazy_gettext("backend"),
    "old_fingerprint": lazy_gettext("old fingerprint"),
    "new_fingerprint": lazy_gettext("new fingerprint"),
    "fingerprint": lazy_gettext("fingerprint"),
    "logs": lazy_gettext("backend logs"),
    "selector": lazy_gettext("selector"),
    "emergency_contact": lazy_gettext("emergency contact"),
}
_ENDED_AFTER = re.compile(r"ended after \d+ minutes")


def _nouns() -> dict[str, str]:
    """What events name, by object type: every provisioned kind, and the other rows events are about.
    Lower case: the sentence's first letter is raised once it is put together."""
    return {
        "Domain": pgettext("activity", "domain"),
        "DnsRecord": pgettext("activity", "DNS record"),
        "Mailbox": pgettext("activity", "mailbox"),
        "Address": pgettext("activity", "address"),
        "Database": pgettext("activity", "database"),
        "DatabaseUser": pgettext("activity", "database user"),
        "SystemUser": pgettext("activity", "system user"),
        "WebApp": pgettext("activity", "web app"),
        "Website": pgettext("activity", "website"),
        "User": pgettext("activity", "login"),
        "Account": pgettext("activity", "account"),
        "Plan": pgettext("activity", "plan"),
        "Server": pgettext("activity", "server"),
        "BackendLog": pgettext("activity", "backend log"),
        "ApiToken": pgettext("activity", "API token"),
    }


def _noun(object_type: str, kind: str) -> str:
    nouns = _nouns()
    if object_type in nouns:
        return nouns[object_type]
    by_name = {k.name: k.singular for k in KINDS}  # a kind added without words here: its English name
    return by_name.get(object_type) or (object_type or kind).lower()


def _sentence(text: str) -> str:
    """The first letter raised, the rest as written (a name keeps its case)."""
    return text[:1].upper() + text[1:]


def _support(event: AuditEvent) -> str:
    real = event.real_actor
    return gettext("Support") if real is None or real.is_staff else gettext("Your reseller")


def _impersonation(event: AuditEvent, whose: str) -> str:
    fields = event.fields or {}
    words = {"who": _support(event), "by": fields.get("by", ""), "whose": whose, "reason": fields.get("reason", "")}
    if event.action == "impersonation.start":
        return gettext("%(who)s (%(by)s) accessed %(whose)s: %(reason)s", **words)
    minutes = int(fields.get("minutes") or 0)
    ended = str(fields.get("ended", "stopped"))
    if _ENDED_AFTER.fullmatch(ended):  # the time was up (security/impersonation.py writes it so)
        return ngettext(
            "%(who)s (%(by)s) left %(whose)s after %(num)d minute, when the time was up. The reason was: %(reason)s",
            "%(who)s (%(by)s) left %(whose)s after %(num)d minutes, when the time was up. The reason was: %(reason)s",
            minutes,
            **words,
        )
    if ended == "ended: the permission is gone":
        return ngettext(
            "%(who)s (%(by)s) left %(whose)s after %(num)d minute, when the permission was gone. "
            "The reason was: %(reason)s",
            "%(who)s (%(by)s) left %(whose)s after %(num)d minutes, when the permission was gone. "
            "The reason was: %(reason)s",
            minutes,
            **words,
        )
    return ngettext(
        "%(who)s (%(by)s) left %(whose)s after %(num)d minute. The reason was: %(reason)s",
        "%(who)s (%(by)s) left %(whose)s after %(num)d minutes. The reason was: %(reason)s",
        minutes,
        **words,
    )


def describe_event(event: AuditEvent, own_account_id: int | None = None) -> str:
    fields = event.fields or {}
    if event.action.startswith("impersonation."):
        if event.account_id == own_account_id:
            whose = gettext("your account")
        elif event.account:
            whose = gettext("account %(name)s", name=event.account.name)
        else:
            whose = gettext("the account")
        return _impersonation(event, whose)
    kind, _, verb = event.action.partition(".")
    what = _noun(event.object_type, kind)
    # Names in Unicode, events recorded before they were stored that way included.
    name = in_unicode(event.object_name)
    thing = gettext("%(what)s %(name)s", what=what, name=name) if name else what
    done = DONE.get(verb)
    text = str(done) % {"thing": thing} if done else gettext("%(thing)s: %(action)s", thing=thing, action=verb)
    if fields.get("password_changed"):
        text = gettext("%(event)s (new password)", event=text)
    rest = {k: v for k, v in fields.items() if k != "password_changed"}
    if rest:
        details = ", ".join(
            gettext("%(field)s %(value)s", field=FIELDS.get(k) or k.replace("_", " "), value=_value(v))
            for k, v in rest.items()
        )
        text = gettext("%(event)s: %(details)s", event=text, details=details)
    return _sentence(text)


def _value(value) -> str:
    if value is None:
        return gettext("none")
    if isinstance(value, list | tuple):
        return ", ".join(in_unicode(str(v)) for v in value) or gettext("none")
    if value is True:
        return gettext("yes")
    if value is False:
        return gettext("no")
    return in_unicode(str(value))


def event_actor(event: AuditEvent) -> str:
    """Who did it; with an impersonation, both people; through the API, with the token's name then."""
    actor = in_unicode(event.actor.email) if event.actor else "Hostdeck"
    if event.real_actor is not None:
        real = in_unicode(event.real_actor.email)
        if event.real_actor.is_staff:
            actor = gettext("%(real)s (support) as %(actor)s", real=real, actor=actor)
        else:
            actor = gettext("%(real)s (reseller) as %(actor)s", real=real, actor=actor)
    if event.token_name:
        return gettext("%(actor)s via API token %(token)s", actor=actor, token=event.token_name)
    return actor
