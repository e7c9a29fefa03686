"""Who reads an account's warnings (usage, incidents), and in which language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import Account, Role, User


@dataclass(frozen=True)
class Reader:
    address: str
    locale: str


def owners(account: Account) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.account_id == account.id, User.role == Role.OWNER, User.active.is_(True))
            .order_by(User.id)
        )
    )


def readers(account: Account) -> list[Reader]:
    """The confirmed emergency contact; else (none yet, or not confirmed) the owners' login e-mails,
    each in their own language. An unconfirmed address is not written to: it may be a typo, and then
    the warning would reach a stranger instead of the owners."""
    people = owners(account)
    if account.emergency_email and account.emergency_confirmed_at is not None:
        return [Reader(account.emergency_email, contact_locale(account.emergency_email, people))]
    return [Reader(u.email, u.locale or "en") for u in people]


def contact_locale(address: str, people: list[User]) -> str:
    """The contact is a person of the account, not a login: the language of the owner with that very
    address, else of the first owner who chose one, else English (as password links do)."""
    same = next((u for u in people if u.email == address and u.locale), None)
    chosen = same or next((u for u in people if u.locale), None)
    return chosen.locale if chosen and chosen.locale else "en"


def page_url(endpoint: str, values: dict[str, Any]) -> str:
    """The page's address on PUBLIC_URL (a worker has no request to take a host from)."""
    public = urlsplit(str(current_app.config["PUBLIC_URL"]))
    adapter = current_app.url_map.bind(
        public.netloc, script_name=public.path.rstrip("/") or "/", url_scheme=public.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)
