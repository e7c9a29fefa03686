"""Databases and database users on MariaDB or PostgreSQL.

Names carry the account's prefix (acme12_blog) and are checked here before any server sees
them. Grants join a user and a database of the same account and engine. Deleting a database
drops the users no other database uses; the others lose only that grant.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Database, DatabaseUser, Engine, Status
from portal.security.scoping import Actor, get_scoped_or_404, scoped
from portal.security.strength import actor_names
from portal.services import ServiceError, record, refuse_weak_password, to_change, to_delete
from portal.services.limits import reserve
from portal.services.text import plain_text
from portal.words import gettext

BASE = re.compile(r"[a-z0-9][a-z0-9_]*")  # fullmatch: $ would let a final line break through


def engine_of(value: str) -> Engine:
    try:
        return Engine(value)
    except ValueError as exc:
        raise ServiceError(gettext("Choose MariaDB or PostgreSQL."), field="engine") from exc


def full_name(actor: Actor, base: str, engine: Engine) -> str:
    """The account prefix, _, and the part the customer chose; refused in plain words."""
    if not base:
        raise ServiceError(gettext("Give it a name."), field="name")
    if not BASE.fullmatch(plain_text(base, "name")):
        raise ServiceError(
            gettext("Use lowercase letters a-z, digits and _ only: no capitals, spaces, quotes, backticks, ; or %%."),
            field="name",
        )
    full = f"{_account(actor).assigned_prefix()}_{base}"
    if len(full) > engine.max_name:
        raise ServiceError(
            gettext(
                "%(engine)s allows names of at most %(most)d characters, prefix included; %(name)s has %(length)d.",
                engine=engine.label,
                most=engine.max_name,
                name=full,
                length=len(full),
            ),
            field="name",
        )
    return full


def _refuse_taken(model: type[Database | DatabaseUser], engine: Engine, full: str, account: Account) -> None:
    """Refused when the name is in use: in plain words when it is the account's own, neutrally when
    it is another's (only names from before prefixes were unique can be)."""
    # On PostgreSQL each database has an owner role of its own name, and roles share one namespace.
    models: set[type[Database | DatabaseUser]] = {Database, DatabaseUser} if engine == Engine.POSTGRESQL else {model}
    for m in models:
        owner = db.session.scalar(sa.select(m.account_id).where(m.engine == engine, m.name == full))
        if owner == account.id:
            if m is Database:
                taken = gettext(
                    "You already have a %(engine)s database named %(name)s.", engine=engine.label, name=full
                )
            else:
                taken = gettext(
                    "You already have a %(engine)s database user named %(name)s.", engine=engine.label, name=full
                )
            raise ServiceError(taken, field="name")
        if owner is not None:
            raise ServiceError(gettext("%(name)s is not available; choose another name.", name=full), field="name")


def _account(actor: Actor) -> Account:
    if actor.account is None:
        raise ServiceError(gettext("Databases belong to a customer account."))
    return actor.account


def _grantable(actor: Actor, engine: Engine, database_ids: list[int]) -> list[Database]:
    """The databases a user may be granted: the actor's own (anyone else's is 404), same engine."""
    found = []
    for database_id in sorted(set(database_ids)):
        database = get_scoped_or_404(Database, database_id, actor)
        if database.engine != engine:
            raise ServiceError(
                gettext(
                    "%(name)s is a %(engine)s database; grants stay within one engine.",
                    name=database.name,
                    engine=database.engine.label,
                ),
                field="databases",
            )
        if database.account_id != actor.account_id:
            raise ServiceError(gettext("Grants stay within one account."), field="databases")
        if database.status == Status.DELETING:
            raise ServiceError(gettext("%(name)s is being deleted.", name=database.name), field="databases")
        found.append(database)
    return found


def create_database(actor: Actor, *, engine: str, name: str) -> Database:
    account, kind = _account(actor), engine_of(engine)
    full = full_name(actor, name, kind)
    _refuse_taken(Database, kind, full, account)
    reserve(account.id, "databases")
    database = Database(account_id=account.id, engine=kind, name=full, status=Status.PENDING)
    db.session.add(database)
    db.session.flush()
    record(database, "save", actor)
    return database


def create_user(actor: Actor, *, engine: str, name: str, password: str, database_ids: list[int]) -> DatabaseUser:
    account, kind = _account(actor), engine_of(engine)
    full = full_name(actor, name, kind)
    _refuse_taken(DatabaseUser, kind, full, account)
    refuse_weak_password(password, *actor_names(actor), name, full)
    user = DatabaseUser(
        account_id=account.id,
        engine=kind,
        name=full,
        status=Status.PENDING,
        databases=_grantable(actor, kind, database_ids),
    )
    db.session.add(user)
    db.session.flush()
    record(user, "save", actor, password)
    return user


def _live_user(actor: Actor, user_id: int) -> DatabaseUser:
    return to_change(DatabaseUser, user_id, actor, gettext("This database user is being deleted."))


def set_grants(actor: Actor, user_id: int, database_ids: list[int]) -> DatabaseUser:
    user = _live_user(actor, user_id)
    user.databases = _grantable(actor, user.engine, database_ids)
    db.session.flush()
    record(user, "save", actor)
    return user


def change_password(actor: Actor, user_id: int, password: str) -> DatabaseUser:
    user = _live_user(actor, user_id)
    refuse_weak_password(password, *actor_names(actor), user.name)
    record(user, "save", actor, password)
    return user


def delete_user(actor: Actor, user_id: int) -> DatabaseUser:
    return to_delete(get_scoped_or_404(DatabaseUser, user_id, actor), actor)


def users_going_with(database: Database) -> tuple[list[DatabaseUser], list[DatabaseUser]]:
    """(users dropped with the database, users that stay because another database uses them)."""
    going: list[DatabaseUser] = []
    staying: list[DatabaseUser] = []
    for user in database.users:
        others = [d for d in user.databases if d.id != database.id and d.status != Status.DELETING]
        (staying if others else going).append(user)
    return going, staying


def delete_database(actor: Actor, database_id: int) -> Database:
    database = get_scoped_or_404(Database, database_id, actor)
    going, staying = users_going_with(database)
    database.users = []
    db.session.flush()
    for user in staying:  # re-applied without this grant
        if user.status != Status.DELETING:
            user.status, user.last_error = Status.PENDING, None
            record(user, "save", actor)
    for user in going:
        if user.status != Status.DELETING:
            delete_user(actor, user.id)
    return to_delete(database, actor)


def refresh_sizes(actor: Actor) -> int:
    """Apply each database again; the server reports its size on the way."""
    count = 0
    for database in db.session.scalars(scoped(Database, actor)):
        if database.status == Status.APPLIED:
            database.status = Status.PENDING
            record(database, "save", actor)
            count += 1
    return count
