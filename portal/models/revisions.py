"""Revisions: numbers that move after every commit that changed what pages show, so a page can keep
what it rendered until then (blueprints/kept.py).

- `a<id>`: one account's rows changed (a row with an `account_id`, or the Account itself). Its
  reseller's number moves too: a reseller's pages show its sub-accounts' rows.
- `shared`: a row no account owns changed (servers, routes, plans), or a bulk UPDATE, DELETE or
  INSERT whose accounts nobody named (`touch()` names them). Every page's key holds it.
- `any`: anything at all changed, backend logs too (shown on the staff console alone: CONSOLE). The
  staff console's pages, which read across accounts, use it.

The numbers move after the commit, never inside it: a page read meanwhile is stored under the old
number, and the next reader, seeing the new one, renders again. So nothing takes a lock for them, and
the lock order of models/usage.py is kept. A commit whose numbers could not be moved (Redis down,
the process killed) is shown late by at most the keeping time (KEEP_SECONDS); after an outage the
process that saw it starts a new epoch, which retires every kept page (RedisStore).

They live in Redis, shared by every web and worker process; without Redis (the demo, one process),
in memory.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from redis import Redis, RedisError
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import identity_key

from portal.models.accounts import Account
from portal.models.outages import Outage
from portal.models.sessions import LoginSession

log = logging.getLogger(__name__)

TOUCHED = "hostdeck.revisions"  # session.info: the names this transaction moves
NAMED = "revisions_named"  # execution option: the caller touch()ed the accounts of this statement
SHARED, ANY = "shared", "any"
# Written on every request (last_seen_at) and shown on no kept page.
UNSHOWN = frozenset({LoginSession.__tablename__})
# Shown on the staff console alone, which keys on `any`.
CONSOLE = frozenset({"backend_log"})
PREFIX = "hostdeck:revision:"
EPOCH = PREFIX + "epoch"


def account(account_id: int) -> str:
    return f"a{account_id}"


class MemoryStore:
    """One process's numbers (no Redis)."""

    def __init__(self) -> None:
        self._numbers: Counter[str] = Counter()
        self._lock = threading.Lock()

    def read(self, names: list[str]) -> tuple[Any, ...] | None:
        with self._lock:
            return (0, *(self._numbers[name] for name in names))  # one epoch: the process's life

    def move(self, names: Iterable[str]) -> None:
        with self._lock:
            self._numbers.update(names)


class RedisStore:
    """Numbers every process sees. A read that fails answers None: the page is rendered, not kept.

    While Redis does not answer (models/outages.py: logged once, tried again every few seconds) the
    numbers cannot move; so the process that saw the outage starts a new epoch once Redis answers
    again, and no page kept before it is shown after a change made during it."""

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        self.outage = Outage(log, "revisions: Redis", "pages are rendered afresh, and shown up to date once it answers")

    def read(self, names: list[str]) -> tuple[Any, ...] | None:
        """The numbers, after the store's epoch: an emptied or new Redis counts from 0 again, and its
        numbers must not meet those of pages kept before it was emptied."""
        if self.outage.waiting:
            return None
        try:
            epoch, *values = self._redis.mget([EPOCH, *(PREFIX + name for name in names)])
            if self.outage.answered():
                epoch = self._new_epoch()
            elif epoch is None:  # a first read, or the first since Redis was emptied
                token = secrets.token_hex(8)
                epoch = token if self._redis.set(EPOCH, token, nx=True) else self._redis.get(EPOCH)
        except RedisError as exc:
            self.outage.failed(exc)
            return None
        epoch = epoch.decode() if isinstance(epoch, bytes) else epoch  # the token set just now is a str
        return (epoch, *(int(value or 0) for value in values))

    def move(self, names: Iterable[str]) -> None:
        if self.outage.waiting:
            return  # lost like the ones that failed: the new epoch after the outage covers them
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.incr(PREFIX + name)
                pipe.execute()
            if self.outage.answered():
                self._new_epoch()
        except RedisError as exc:
            self.outage.failed(exc)

    def _new_epoch(self) -> str:
        token = secrets.token_hex(8)
        self._redis.set(EPOCH, token)
        return token


def store(app: Flask | None = None) -> MemoryStore | RedisStore:
    app = app or current_app
    found: MemoryStore | RedisStore = app.extensions["hostdeck.revisions"]
    return found


def read(names: list[str]) -> tuple[Any, ...] | None:
    """The store's epoch, then the numbers of these names; None when they cannot be read."""
    return store().read(names)


def named(statement: Any) -> Any:
    """A bulk statement whose accounts its caller touch()es (or a flush of theirs did)."""
    return statement.execution_options(**{NAMED: True})


def touch(session: Any, account_ids: Iterable[int | None]) -> None:
    """Say which accounts a bulk statement (run as named(statement)) changes."""
    ids = {i for i in account_ids if i is not None}
    _names(session).update(account(i) for i in _with_resellers(session, ids))


def _names(session: Any) -> set[str]:
    names: set[str] = session.info.setdefault(TOUCHED, set())
    names.add(ANY)
    return names


def _touch_rows(session: Session, flush_context: object) -> None:
    ids: set[int] = set()
    seen = shared = False
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table in UNSHOWN:
            continue
        seen = True
        if isinstance(obj, Account):
            ids.add(obj.id)
        elif hasattr(obj, "account_id"):
            if obj.account_id is not None:  # None: a staff login's row, shown on the console alone
                ids.add(obj.account_id)
        elif table not in CONSOLE:
            shared = True
    if seen:
        names = _names(session)
        if shared:
            names.add(SHARED)
        names.update(account(i) for i in _with_resellers(session, ids))


def _touch_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert) or state.execution_options.get(NAMED):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table in UNSHOWN:
        return
    names = _names(state.session)
    if table not in CONSOLE:
        names.add(SHARED)


def _with_resellers(session: Any, ids: set[int]) -> set[int]:
    """The accounts and their resellers: read from the session's own accounts where loaded."""
    parents: set[int] = set()
    unknown: list[int] = []
    for account_id in ids:
        loaded = session.identity_map.get(identity_key(Account, account_id))
        if loaded is not None and "parent_id" in loaded.__dict__:
            if loaded.parent_id is not None:
                parents.add(loaded.parent_id)
        else:
            unknown.append(account_id)
    if unknown:
        query = sa.select(Account.parent_id).where(Account.id.in_(unknown), Account.parent_id.is_not(None))
        parents.update(session.scalars(query.execution_options(autoflush=False)))
    return ids | parents


def _publish(session: Session) -> None:
    names = session.info.pop(TOUCHED, None)
    if names and has_app_context() and "hostdeck.revisions" in current_app.extensions:
        store().move(sorted(names))


def _forget(session: Session, *args: object) -> None:
    session.info.pop(TOUCHED, None)


LISTENERS = (
    ("after_flush", _touch_rows),
    ("do_orm_execute", _touch_statement),
    ("after_commit", _publish),
    ("after_rollback", _forget),
)


def init_app(app: Flask) -> None:
    url = app.config["REDIS_URL"]
    app.extensions["hostdeck.revisions"] = RedisStore(url) if url else MemoryStore()
    for event, listener in LISTENERS:
        if not sa.event.contains(Session, event, listener):
            sa.event.listen(Session, event, listener)
