"""Who an API request is, and what it may do: every API view is wrapped by `scope()`.

The order is fixed: the token (401; a request without a live one counts against its address's rate), its
networks and owner (403), the address's and the token's rates (429), the scope (403), then the account the path names (`/accounts/{id}/…`: one of a reseller's own
sub-accounts, and one its token may touch; anything else the same 404 as a missing object). Then the
view runs with the actor in `g`, as `current_actor()` gives it to every service.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, request

from portal.api.problems import problem
from portal.extensions import db
from portal.models import AccountKind, ApiToken
from portal.models.tokens import SCOPES
from portal.security import rates, throttle, tokens
from portal.security.scoping import Actor, sub_account
from portal.words import gettext

View = TypeVar("View", bound=Callable[..., Any])
PUBLIC = "public"  # the OpenAPI document and its page


class Refusal(Exception):
    """An answer before the view runs (401, 403, 429), already a problem document."""

    def __init__(self, response: Any) -> None:
        super().__init__(response.status)
        self.response = response


def _rate(rules: list[tuple[tuple[str, str], int]]) -> None:
    waited = rates.hit([(per_minute, 60, key) for key, per_minute in rules])
    if waited is not None:
        raise Refusal(problem(429, None, headers={"Retry-After": str(waited[1])}))


def _unauthorized(detail: str | None = None) -> Refusal:
    return Refusal(problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="api"'}))


def _token() -> ApiToken:
    """The request's live token, its address's and its own rate counted (in one round trip)."""
    ip = throttle.client_ip()
    per_ip = (("api-ip", ip), current_app.config["API_REQUESTS_PER_MINUTE_PER_IP"])
    found = tokens.authenticate(request.headers.get("Authorization"), ip)
    if not isinstance(found, ApiToken):
        _rate([per_ip])  # guesses count against the address
        if found is tokens.Refused.MISSING:
            raise _unauthorized()
        if found is tokens.Refused.UNKNOWN:
            raise _unauthorized(gettext("This token is not valid: it is unknown, revoked or expired."))
        if found is tokens.Refused.NETWORK:
            raise Refusal(problem(403, gettext("This token is not accepted from your address.")))
        raise Refusal(problem(403, gettext("This login or its account is suspended.")))
    _rate([per_ip, (("api-token", str(found.id)), current_app.config["API_REQUESTS_PER_MINUTE"])])
    return found


def actor_for(token: ApiToken, account_id: int | None) -> Actor:
    """The token's owner, acting inside the sub-account the path names. A reseller's token kept to some
    sub-accounts sees, without a path, its own account only (never the others' rows)."""
    user = token.user
    own = user.account
    if account_id is None:
        kept = token.account_ids is not None and own is not None and own.kind == AccountKind.RESELLER
        return Actor(user=user, acting=own if kept else None, token=token)
    if token.account_ids is not None and account_id not in token.account_ids:
        abort(404)
    acting = sub_account(own, account_id)
    if acting is None:
        abort(404)
    return Actor(user=user, acting=acting, token=token)


def scope(needed: str) -> Callable[[View], View]:
    """The view needs this scope (`mail:read`, …) of the request's token; `public`: no token at all."""
    if needed != PUBLIC and needed not in SCOPES:
        raise ValueError(f"unknown API scope {needed!r}")

    def mark(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if needed == PUBLIC:
                return view(*args, **kwargs)
            try:
                token = _token()
                if not token.allows(needed):
                    raise Refusal(problem(403, gettext("This token lacks the %(scope)s scope.", scope=needed)))
            except Refusal as refusal:
                return refusal.response
            g.actor = actor_for(token, kwargs.pop("account_id", None))
            answer = view(*args, **kwargs)
            if db.session.new or db.session.dirty or db.session.deleted:
                db.session.commit()  # writes commit themselves (writes.py), after wording their answer
            return answer

        setattr(guarded, "api_scope", needed)  # noqa: B010 (read by the tests: every route declares one)
        return cast(View, guarded)

    return mark


def api_actor() -> Actor:
    actor: Actor = g.actor
    return actor
