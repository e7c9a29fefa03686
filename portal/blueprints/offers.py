"""What a create page can offer, said before its form: a feature no server runs yet (and whom to ask),
or a choice that would be empty (what to create first)."""

from __future__ import annotations

from typing import Any

from flask import g

from portal.extensions import db
from portal.models import Domain
from portal.orchestration.operations import is_served
from portal.orchestration.proof import proven, waiting_reason
from portal.security.scoping import Actor, scoped
from portal.words import gettext


def not_served(actor: Actor, object_type: str, things: Any) -> str:
    """What the page says instead of its form when no server runs what `object_type` needs (record()
    would refuse it), naming whom to ask: a sub-account's reseller, else support. Empty when served.

    `things` are the kind's words for people (lazy_gettext), "system users"."""
    if is_served(object_type):
        return ""
    own = actor.user.account  # whoever reads it: a reseller acting inside a sub-account asks support
    reseller = own.parent if own is not None else None
    if reseller is not None:
        return gettext(
            "No server offers %(things)s yet. Contact %(reseller)s to have it set up.",
            things=things,
            reseller=reseller.name,
        )
    return gettext("No server offers %(things)s yet. Contact support to have it set up.", things=things)


def account_domains(actor: Actor) -> list[Domain]:
    """The account's domains in name order, read once per request: a form's checks and its list both ask."""
    if "account_domains" not in g:
        g.account_domains = db.session.scalars(scoped(Domain, actor).order_by(Domain.name)).all()
    found: list[Domain] = g.account_domains
    return found


def has_proved_domain(actor: Actor) -> bool:
    """Whether the account has a domain it has proved: mailboxes, addresses and websites need one."""
    return any(proven(d) for d in account_domains(actor))


def waiting_domains(actor: Actor, most: int = 5) -> list[tuple[Domain, str]]:
    """The account's domains still waiting for proof, each with what to do (the page that says "add and
    verify a domain first" names them: one just added is not missing without a word)."""
    query = scoped(Domain, actor).where(Domain.verified_at.is_(None)).order_by(Domain.name)
    return [(d, waiting_reason(d)) for d in db.session.scalars(query) if not proven(d)][:most]
