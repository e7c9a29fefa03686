"""Where an account stands: its usage against every limit, what is not applied yet or failed, and
the next useful step. The dashboard shows it; every count comes from the usage counters or from a
single query over the kinds registry, so the page costs the same for 5 objects or 50,000."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LIMITS, Domain, Status
from portal.models.kinds import KINDS, Kind, kind_named
from portal.orchestration.proof import proven
from portal.security.scoping import Actor, scoped

UNSETTLED = (Status.PENDING, Status.FAILED)
WARN_AT = 80  # percent of a limit


@dataclass(frozen=True)
class Meter:
    """One limit: how much is used of how much (cap None: no limit)."""

    limit: str
    words: str
    used: int
    cap: int | None

    @property
    def percent(self) -> int:
        return fullness(self.used, self.cap)[0]

    @property
    def level(self) -> str:
        """ "full", "near" or "ok": the bar's colour and the words beside it."""
        return fullness(self.used, self.cap)[1]


def fullness(used: int, cap: int | None) -> tuple[int, str]:
    """How full, in percent, and the bar's level: "full", "near" (WARN_AT and over) or "ok". Every bar
    of a limit or a quota reads it. No cap: 0 and "ok"; a cap of 0 is full."""
    if cap is None:
        return 0, "ok"
    percent = min(100, used * 100 // cap) if cap else (100 if used else 0)
    if used >= cap:
        return percent, "full"
    return percent, "near" if percent >= WARN_AT else "ok"


def meters(actor: Actor, used: dict[str, int]) -> list[Meter]:
    """`used`: actor.totals(), read once for the whole page."""
    account = actor.scope
    if account is None:
        return []
    return [Meter(limit, words, used.get(limit, 0), account.limit(limit)) for limit, words in LIMITS.items()]


def unsettled(actor: Actor) -> dict[Kind, dict[Status, int]]:
    """Per kind, how many objects wait to be applied or failed: one query for every kind, each part
    read from its (account_id, status) index."""
    if actor.scope is None:
        return {}
    counts = [
        scoped(kind.model, actor)
        .where(kind.model.status.in_(UNSETTLED))
        .with_only_columns(sa.literal(kind.name).label("kind"), kind.model.status, sa.func.count())
        .group_by(kind.model.status)
        for kind in KINDS
    ]
    found: dict[Kind, dict[Status, int]] = {}
    for name, status, count in db.session.execute(sa.union_all(*counts)).tuples():
        found.setdefault(kind_named(name), {})[Status(status)] = count
    return found


def failed(actor: Actor, kind: Kind, limit: int = 5) -> list[object]:
    """The first failed objects of a kind, to link them from the dashboard."""
    query = scoped(kind.model, actor).where(kind.model.status == Status.FAILED).order_by(kind.model.id)
    return list(db.session.scalars(query.limit(limit)))


@dataclass(frozen=True)
class Step:
    """A step of the "get started" path: done or not, and where to do it."""

    key: str
    done: bool


def first_steps(used: dict[str, int], waiting: list[Domain]) -> list[Step]:
    """Domain, proof, mailbox, system user, web app: what a new account does first, in order.
    `waiting`: the domains still waiting for their proof (waiting_domains())."""
    has_domain = used.get("domains", 0) > 0
    return [
        Step("domain", has_domain),
        Step("proof", has_domain and not waiting),
        Step("mailbox", used.get("mailboxes", 0) > 0),
        Step("system_user", used.get("system_users", 0) > 0),
        Step("web_app", used.get("web_apps", 0) > 0),
    ]


def waiting_domains(actor: Actor, limit: int = 5) -> list[Domain]:
    """Domains still waiting for their proof of ownership (the dashboard says how to give it)."""
    if actor.scope is None:
        return []
    query = scoped(Domain, actor).where(Domain.verified_at.is_(None)).order_by(Domain.name).limit(limit)
    return [d for d in db.session.scalars(query) if not proven(d)]
