"""Personal access tokens: made, listed and revoked by their owner in the browser.

Only the real user makes them (the view refuses while impersonating); the token is returned once and
only its digest stays (security/tokens.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, AccountKind, ApiToken, utcnow
from portal.models.tokens import SCOPES
from portal.models.validators import shown
from portal.security import tokens
from portal.security.audit import audit
from portal.security.scoping import Actor
from portal.services import ServiceError
from portal.services.text import plain_text
from portal.words import gettext

NAME_MAX = 100
LONGEST = timedelta(days=366)  # "at most a year", a leap year's day included
NETWORKS_MAX = 20


def own_tokens(actor: Actor) -> list[ApiToken]:
    """The actor's own tokens, newest first (the real user's: staff behind an impersonation see none)."""
    if actor.real_user is not None:
        return []
    return list(
        db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == actor.user.id).order_by(ApiToken.id.desc()))
    )


def sub_accounts(actor: Actor) -> list[Account]:
    """What a reseller's token may be kept to: its own sub-accounts, by name."""
    account = actor.user.account
    if account is None or account.kind != AccountKind.RESELLER:
        return []
    return list(db.session.scalars(sa.select(Account).where(Account.parent_id == account.id).order_by(Account.name)))


def scopes_for(actor: Actor) -> list[str]:
    """The scopes the actor's tokens may carry: sub-accounts only for resellers."""
    account = actor.user.account
    reseller = account is not None and account.kind == AccountKind.RESELLER
    return [s for s in SCOPES if reseller or not s.startswith("accounts:")]


def _networks(given: Sequence[str]) -> list[str] | None:
    networks: list[str] = []
    for text in given:
        text = text.strip()
        if not text:
            continue
        try:
            networks.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError as exc:
            raise ServiceError(
                gettext("%(value)s is not an IP address or network (for example 203.0.113.0/24).", value=shown(text)),
                field="networks",
            ) from exc
    if len(networks) > NETWORKS_MAX:
        raise ServiceError(gettext("At most %(num)d networks.", num=NETWORKS_MAX), field="networks")
    return networks or None


def create_token(
    actor: Actor,
    *,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime,
    account_ids: Sequence[int] = (),
    networks: Sequence[str] = (),
) -> tuple[ApiToken, str]:
    """The new token and its secret, which is never seen again."""
    if actor.real_user is not None or actor.user.account is None:
        raise ServiceError(gettext("Only a customer or a reseller makes tokens, for their own login."))
    name = plain_text(name, "name").strip()
    if not name:
        raise ServiceError(gettext("Give the token a name."), field="name")
    if len(name) > NAME_MAX:
        raise ServiceError(gettext("At most %(max)d characters.", max=NAME_MAX), field="name")
    allowed = scopes_for(actor)
    chosen = sorted(set(scopes))
    if not chosen:
        raise ServiceError(gettext("Choose at least one scope."), field="scopes")
    unknown = [s for s in chosen if s not in allowed]
    if unknown:
        raise ServiceError(gettext("Unknown scope: %(scope)s.", scope=shown(unknown[0])), field="scopes")
    now = utcnow()
    if expires_at <= now:
        raise ServiceError(gettext("Choose an expiry date in the future."), field="expires_at")
    if expires_at - now > LONGEST:
        raise ServiceError(gettext("A token lasts at most a year."), field="expires_at")
    ours = {a.id for a in sub_accounts(actor)}
    kept_to = sorted(set(account_ids))
    if any(i not in ours for i in kept_to):
        raise ServiceError(gettext("Choose among your own sub-accounts."), field="account_ids")
    secret, prefix, digest = tokens.make()
    token = ApiToken(
        user_id=actor.user.id,
        name=name,
        prefix=prefix,
        digest=digest,
        scopes=chosen,
        account_ids=kept_to or None,
        networks=_networks(networks),
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    audit(
        actor,
        "token.create",
        obj=token,
        account_id=actor.user.account_id,
        fields={"token": name, "prefix": prefix, "scopes": chosen, "expires_at": expires_at.isoformat()},
    )
    return token, secret


def revoke_token(actor: Actor, token_id: int) -> ApiToken | None:
    """Revoked at once: the next request with it is refused. None: not one of the actor's tokens."""
    token = next((t for t in own_tokens(actor) if t.id == token_id), None)
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit(actor, "token.revoke", obj=token, account_id=actor.user.account_id, fields={"token": token.name})
    return token
