"""The one place that turns "who is asking" into a query filter.

Views and services load account-owned rows only through `scoped()` or
`get_scoped_or_404()`, so a foreign id gets the same 404 as a missing one. The staff console
reads across accounts through `console()`, which is empty for anyone but staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from flask import abort, g, session
from flask_login import current_user

from portal.extensions import db
from portal.models import LIMITS, Account, AccountKind, ApiToken, User
from portal.models.usage import totals
from portal.security.sessions import current


class AccountRows(Protocol):
    """A table whose rows belong to an account (its account_id column): usage readings have no id."""

    account_id: Any


class Owned(AccountRows, Protocol):
    """A model whose rows belong to an account (its id and account_id columns)."""

    id: Any


M = TypeVar("M", bound=Owned)
A = TypeVar("A", bound=AccountRows)
R = TypeVar("R")


@dataclass(frozen=True)
class Actor:
    """The logged-in user, plus the staff user behind them when impersonating.

    A reseller can act inside one of its sub-accounts: then `account` is that one,
    and only its objects are in scope. An API request's actor is its token's owner.
    """

    user: User
    real_user: User | None = None
    acting: Account | None = None
    # An API request: its token, and the fields it asked to change (audited with each event, secrets dropped).
    token: ApiToken | None = None
    fields: dict[str, Any] | None = None

    @property
    def account(self) -> Account | None:
        return self.acting or self.user.account

    @property
    def account_id(self) -> int | None:
        return self.account.id if self.account else None

    @property
    def scope(self) -> Account | None:
        """The account whose rows the actor sees (a reseller's, with its sub-accounts'), or None:
        staff and admins see customer data only while impersonating; a suspended account, none."""
        account = self.account
        return account if account is not None and account.active else None

    def total(self, kind: str) -> int:
        """How many rows of a counted kind (models/usage.py) scoped() shows the actor: its account's
        usage counter, with a reseller's sub-accounts' added, as its scope includes their rows."""
        return self.totals().get(kind, 0)

    def totals(self) -> dict[str, int]:
        """total() of every counted kind, read at once (a reseller's: one query for all)."""
        if self.scope is None:
            return {}
        if self.acting is None and self.scope.kind == AccountKind.RESELLER:
            return totals(db.session, [self.scope])[self.scope.id]
        return {limit: self.scope.used(limit) for limit in LIMITS}


def scoped(model: type[A], actor: Actor) -> sa.Select[tuple[A]]:
    """select(model) limited to the rows the actor may see."""
    stmt = sa.select(model)
    account = actor.scope
    if account is None:
        return stmt.where(sa.false())
    if actor.acting is not None or account.kind != AccountKind.RESELLER:
        # One account: a plain equality lets the planner use the (account_id, …) indexes.
        return stmt.where(model.account_id == account.id)
    # A reseller sees its own rows and its sub-accounts'.
    return stmt.where(
        model.account_id.in_(
            sa.select(Account.id).where(sa.or_(Account.id == account.id, Account.parent_id == account.id))
        )
    )


def console(model: type[R], actor: Actor) -> sa.Select[tuple[R]]:
    """select(model) for the staff console: every row for staff (not while impersonating), else none.
    Any table: the console reads usage readings too, which have no id column."""
    stmt = sa.select(model)
    if actor.real_user is None and actor.user.is_staff:
        return stmt
    return stmt.where(sa.false())


def get_scoped_or_404(model: type[M], object_id: int, actor: Actor) -> M:
    obj = db.session.scalars(scoped(model, actor).where(model.id == object_id)).first()
    if obj is None:
        abort(404)
    return obj


ACTING = "acting_account_id"


def sub_account(reseller: Account | None, account_id: int) -> Account | None:
    """One of the reseller's own sub-accounts, or None."""
    if reseller is None or reseller.kind != AccountKind.RESELLER:
        return None
    return db.session.scalars(
        sa.select(Account).where(Account.id == account_id, Account.parent_id == reseller.id)
    ).first()


def current_actor() -> Actor:
    if "actor" not in g:
        if not current_user.is_authenticated:
            abort(401)
        user = current_user._get_current_object()
        row = current()
        real = row.user if row is not None and row.subject_id is not None else None
        acting = sub_account(user.account, session[ACTING]) if ACTING in session else None
        g.actor = Actor(user=user, real_user=real, acting=acting)
    actor: Actor = g.actor
    return actor
