"""Databases and their users on MariaDB or PostgreSQL, and which databases each user may use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from marshmallow import Schema, fields, validate

from portal.api.resource import Resource, api_blueprint, register
from portal.api.schemas import Id, Provisioned, Text
from portal.models import Database, DatabaseUser, Engine
from portal.security.scoping import Actor
from portal.services import ServiceError
from portal.services.databases import (
    change_password,
    create_database,
    create_user,
    delete_database,
    delete_user,
    set_grants,
)

blp = api_blueprint("api_databases", "Databases and database users (scopes databases:read, databases:write).")

ENGINES = [e.value for e in Engine]


@contextmanager
def grants_at_database_ids() -> Iterator[None]:
    """The service names the grants' field `databases`; the API calls it `database_ids`."""
    try:
        yield
    except ServiceError as refused:
        if refused.field == "databases":
            refused.field = "database_ids"
        raise


class DatabaseOut(Provisioned):
    engine = fields.Function(lambda d: d.engine.value, metadata={"enum": ENGINES})
    name = fields.String(metadata={"description": "the full name, account prefix included"})
    size_bytes = fields.Integer(allow_none=True, metadata={"description": "as the server last reported it"})
    size_at = fields.DateTime(allow_none=True)
    user_ids = fields.Function(lambda d: [u.id for u in d.users], metadata={"description": "users granted it"})


class DatabaseCreate(Schema):
    engine = Text(required=True, metadata={"enum": ENGINES})
    name = Text(required=True, validate=validate.Length(1, 80), metadata={"description": "the account prefix is added"})


register(
    blp,
    Resource(
        "databases",
        Database,
        "databases",
        DatabaseOut,
        create=DatabaseCreate,
        created=lambda actor, data: create_database(actor, engine=data["engine"], name=data["name"]),
        deleted=lambda actor, database: delete_database(actor, database.id),
        filters=type(
            "DatabaseFilters", (Schema,), {"engine": fields.String(load_default=None, validate=validate.OneOf(ENGINES))}
        ),
        narrow=lambda query, args: query.where(Database.engine == Engine(args["engine"])) if args["engine"] else query,
        id_name="database_id",
    ),
)


class DatabaseUserOut(Provisioned):
    engine = fields.Function(lambda u: u.engine.value, metadata={"enum": ENGINES})
    name = fields.String(metadata={"description": "the full name, account prefix included"})
    database_ids = fields.Function(
        lambda u: [d.id for d in u.databases], metadata={"description": "the databases it may use"}
    )


class DatabaseUserCreate(Schema):
    engine = Text(required=True, metadata={"enum": ENGINES})
    name = Text(required=True, validate=validate.Length(1, 80), metadata={"description": "the account prefix is added"})
    password = fields.String(required=True, load_only=True, validate=validate.Length(1, 1024))
    database_ids = fields.List(
        Id(), load_default=list, validate=validate.Length(max=1000), metadata={"description": "of the same engine"}
    )


class DatabaseUserChange(Schema):
    password = fields.String(load_only=True, validate=validate.Length(1, 1024))
    database_ids = fields.List(
        Id(), validate=validate.Length(max=1000), metadata={"description": "the whole list, replacing the grants"}
    )


def _create_user(actor: Actor, data: dict[str, Any]) -> DatabaseUser:
    with grants_at_database_ids():
        return create_user(
            actor,
            engine=data["engine"],
            name=data["name"],
            password=data["password"],
            database_ids=data["database_ids"],
        )


def _change_user(actor: Actor, user: DatabaseUser, data: dict[str, Any]) -> DatabaseUser:
    with grants_at_database_ids():
        if "database_ids" in data:
            set_grants(actor, user.id, data["database_ids"])
        if "password" in data:
            change_password(actor, user.id, data["password"])
    return user


register(
    blp,
    Resource(
        "database_users",
        DatabaseUser,
        "databases",
        DatabaseUserOut,
        create=DatabaseUserCreate,
        created=_create_user,
        update=DatabaseUserChange,
        updated=_change_user,
        deleted=lambda actor, user: delete_user(actor, user.id),
        filters=type(
            "DatabaseUserFilters",
            (Schema,),
            {"engine": fields.String(load_default=None, validate=validate.OneOf(ENGINES))},
        ),
        narrow=lambda query, args: (
            query.where(DatabaseUser.engine == Engine(args["engine"])) if args["engine"] else query
        ),
        id_name="database_user_id",
    ),
)
