"""One declaration per kind makes its API routes: list, create, read, change, delete, OPTIONS and the
object's operations, each at `/<name>` and inside a reseller's sub-account at
`/accounts/{account_id}/<name>`. The views only parse, call the kind's service with the actor and
answer; scoping, limits and validation are the services' own, as for the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from flask import Response, g, json, request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from portal.api.access import api_actor, scope
from portal.api.kept import kept
from portal.api.paging import page
from portal.api.problems import answer_in_problems
from portal.api.schemas import IDEMPOTENCY_KEY, IF_MATCH, READ_HEADERS, WRITE_HEADERS, Options, PageArgs
from portal.api.writes import accepted, check_match, shown
from portal.extensions import csrf
from portal.models import Operation
from portal.security.scoping import Actor, get_scoped_or_404, scoped

SUMMARIES = {
    "list": "List {name}",
    "get": "Read one of the {name}",
    "operations": "The operations that apply changes of one of the {name}",
    "options": "Methods and settable fields of {name}",
    "item_options": "Methods and settable fields of one of the {name}",
    "create": "Create one of the {name} (202: poll Location)",
    "update": "Change one of the {name} (202: poll Location)",
    "delete": "Delete one of the {name} (202: poll Location until 404)",
}
PREFIXES = {"": "", "sub_": "/accounts/<int:account_id>"}  # endpoint prefix -> path prefix


def api_blueprint(name: str, description: str) -> Blueprint:
    blp = Blueprint(name, __name__, url_prefix="/api/v1", description=description)
    answer_in_problems(blp)
    csrf.exempt(blp)  # a token in a header, never a cookie: no form of another site can send one
    return blp


@dataclass(frozen=True)
class Resource:
    name: str  # the path, and the endpoints' names
    model: Any
    area: str  # the scopes' area: mail, web, …
    schema: type[Schema]  # what GET shows
    create: type[Schema] | None = None
    created: Callable[[Actor, dict[str, Any]], Any] | None = None
    update: type[Schema] | None = None
    updated: Callable[[Actor, Any, dict[str, Any]], Any] | None = None
    deleted: Callable[[Actor, Any], Any] | None = None
    # Narrowing arguments of the list (?domain_id=…), and how they narrow its query.
    filters: type[Schema] | None = None
    narrow: Callable[[sa.Select[Any], dict[str, Any]], sa.Select[Any]] | None = None
    id_name: str = "object_id"


class OperationOut(Schema):
    id = fields.Integer()
    action = fields.String(metadata={"enum": ["save", "delete"]})
    state = fields.Function(lambda op: str(op.state), metadata={"enum": ["pending", "applied", "failed", "superseded"]})
    attempts = fields.Integer()
    retry_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


def locate(endpoint: str, id_name: str) -> Callable[[Any], str]:
    """Where an object is polled: its GET, under the sub-account the request named, if any."""

    def location(obj: Any) -> str:
        values = {id_name: obj.id, **{k: v for k, v in (request.view_args or {}).items() if k == "account_id"}}
        blp, _, name = endpoint.partition(".")
        prefix = "sub_" if "account_id" in values else ""
        return url_for(f"{blp}.{prefix}{name}", _external=True, **values)

    return location


def with_fields(data: dict[str, Any], schema: type[Schema] | None = None) -> Actor:
    """The actor, carrying the request's fields for the audit events its change writes: never the
    schema's write-only ones (passwords, keys), whatever their names (audit() drops secret names too)."""
    secret = {f.attribute or name for name, f in schema().fields.items() if f.load_only} if schema else set()
    shown = {k: v for k, v in data.items() if k not in secret}
    actor = replace(api_actor(), fields=json.loads(json.dumps(shown, default=str)))
    g.actor = actor
    return actor


def listed(schema: Schema, rows: list[Any], headers: dict[str, str]) -> Response:
    response = Response(json.dumps(schema.dump(rows)), mimetype="application/json")
    response.headers.update(headers)
    return response


def field_types(schema: type[Schema] | None) -> dict[str, dict[str, Any]]:
    if schema is None:
        return {}
    return {
        f.data_key or name: {"type": type(f).__name__.lower(), "required": f.required, "write_only": f.load_only}
        for name, f in schema().fields.items()
        if not f.dump_only
    }


def own_options(view: Callable[..., Any]) -> Callable[..., Any]:
    """Between @blp.route and the rest: the rule gets no automatic OPTIONS, so the path's own OPTIONS
    view (after the token and the scope) answers it."""
    setattr(view, "provide_automatic_options", False)  # noqa: B010 (Flask reads it off the view)
    return view


def allowed(methods: list[str], schemas: dict[str, type[Schema] | None]) -> Response:
    """What OPTIONS says: the methods (in Allow and the body) and, per writing method, its fields."""
    body = {"allow": methods, "fields": {m: field_types(s) for m, s in schemas.items() if s is not None}}
    response = Response(json.dumps(body), mimetype="application/json")
    response.headers["Allow"] = ", ".join(methods)
    return response


def register(blp: Blueprint, res: Resource) -> None:
    read, write = f"{res.area}:read", f"{res.area}:write"
    items, item = f"/{res.name}", f"/{res.name}/<int:{res.id_name}>"
    one, many = res.schema(), res.schema(many=True)
    args = type(f"{res.model.__name__}ListArgs", (PageArgs, res.filters or Schema), {})

    location = locate(f"{blp.name}.{res.name}_get", res.id_name)

    def load(object_id: int) -> Any:
        return get_scoped_or_404(res.model, object_id, api_actor())

    def list_view(query_args: dict[str, Any]) -> Response:
        def answer() -> tuple[str, dict[str, str]]:
            query = scoped(res.model, api_actor())
            if res.narrow is not None:
                query = res.narrow(query, query_args)
            rows, headers = page(query, res.model, query_args)
            return json.dumps(many.dump(rows)), headers

        body, headers = kept(answer)
        response = Response(body, mimetype="application/json")
        response.headers.update(headers)
        return response

    def get_view(**ids: int) -> Response:
        return shown(one, load(ids[res.id_name]))

    def create_view(data: dict[str, Any]) -> Response:
        assert res.created is not None  # noqa: S101 (routed only when declared)
        created = res.created
        return accepted(one, lambda: created(with_fields(data, res.create), data), location)

    def update_view(data: dict[str, Any], **ids: int) -> Response:
        assert res.updated is not None  # noqa: S101
        updated = res.updated
        obj = load(ids[res.id_name])
        check_match(one, obj)
        return accepted(one, lambda: updated(with_fields(data, res.update), obj, data), location)

    def delete_view(**ids: int) -> Response:
        assert res.deleted is not None  # noqa: S101
        deleted = res.deleted
        obj = load(ids[res.id_name])
        check_match(one, obj)
        return accepted(one, lambda: deleted(with_fields({"id": obj.id}), obj), location)

    def operations_view(query_args: dict[str, Any], **ids: int) -> Response:
        obj = load(ids[res.id_name])
        query = sa.select(Operation).where(Operation.object_type == res.model.__name__, Operation.object_id == obj.id)
        rows, headers = page(query, Operation, query_args)
        return listed(OperationOut(many=True), rows, headers)

    def options_for(methods: list[str], schemas: dict[str, type[Schema] | None]) -> Callable[..., Response]:
        def options_view(**ids: int) -> Response:
            if res.id_name in ids:
                load(ids[res.id_name])
            return allowed(methods, schemas)

        return options_view

    list_methods = ["GET", "OPTIONS"] + (["POST"] if res.created else [])
    item_methods = ["GET", "OPTIONS"] + (["PATCH"] if res.updated else []) + (["DELETE"] if res.deleted else [])
    routes: list[tuple[str, str, str, Callable[..., Any]]] = [
        (items, "list", "GET", blp.response(200, many)(scope(read)(blp.arguments(args, location="query")(list_view)))),
        (item, "get", "GET", _documented(blp, 200, one, scope(read)(get_view))),
        (
            item + "/operations",
            "operations",
            "GET",
            blp.response(200, OperationOut(many=True))(
                scope(read)(blp.arguments(PageArgs, location="query")(operations_view))
            ),
        ),
        (
            items,
            "options",
            "OPTIONS",
            blp.response(200, Options)(scope(read)(options_for(list_methods, {"POST": res.create}))),
        ),
        (
            item,
            "item_options",
            "OPTIONS",
            blp.response(200, Options)(scope(read)(options_for(item_methods, {"PATCH": res.update}))),
        ),
    ]
    if res.created and res.create:
        create = _written(blp, one, scope(write)(blp.arguments(res.create)(create_view)))
        routes.append((items, "create", "POST", _repeatable(blp, create)))
    if res.updated and res.update:
        update = _written(blp, one, scope(write)(blp.arguments(res.update)(update_view)))
        routes.append((item, "update", "PATCH", _matched(blp, update)))
    if res.deleted:
        routes.append((item, "delete", "DELETE", _matched(blp, _written(blp, one, scope(write)(delete_view)))))
    for prefix, path in PREFIXES.items():
        for rule, endpoint, method, view in routes:
            summary = SUMMARIES[endpoint].format(name=res.name) + (" inside a sub-account" if prefix else "")
            documented = blp.doc(summary=summary, operationId=f"{prefix}{res.name}_{endpoint}")(view)
            # No automatic OPTIONS on the other rules: ours answers it, after the token and the scope
            # (flask-smorest does not pass provide_automatic_options on; Flask reads it off the view too).
            setattr(documented, "provide_automatic_options", False)  # noqa: B010
            blp.route(path + rule, endpoint=f"{prefix}{res.name}_{endpoint}", methods=[method])(documented)


def _documented(blp: Blueprint, status: int, schema: Schema, view: Callable[..., Any]) -> Callable[..., Any]:
    return blp.response(status, schema, headers=READ_HEADERS)(view)


def _written(blp: Blueprint, schema: Schema, view: Callable[..., Any]) -> Callable[..., Any]:
    """202 with the object, where to poll it, and its ETag."""
    return blp.response(202, schema, headers=WRITE_HEADERS, description="Accepted: poll Location for its status")(view)


def _matched(blp: Blueprint, view: Callable[..., Any]) -> Callable[..., Any]:
    return blp.doc(parameters=[IF_MATCH])(view)


def _repeatable(blp: Blueprint, view: Callable[..., Any]) -> Callable[..., Any]:
    return blp.doc(parameters=[IDEMPOTENCY_KEY])(view)
