"""What every API object and argument shares: text that is plain, the status fields, problems, pages."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from portal.models.validators import control_problem
from portal.services.failures import explain

INT_MAX = 2**31 - 1


class Text(fields.String):
    """A string without control, invisible or separator characters (multiline: LF allowed), as every
    form's text field is checked; the services check again."""

    def __init__(self, *args: Any, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        problem = control_problem(text.replace("\r\n", "\n"), multiline=self.multiline)
        if problem:
            raise ValidationError(problem)
        return text


def Id(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(1, INT_MAX), **kwargs)


def QueryId(**kwargs: Any) -> fields.Integer:
    """An id in the query string (?domain_id=5): text there, so not strict as Id() is in a JSON body."""
    return fields.Integer(validate=validate.Range(1, INT_MAX), **kwargs)


# The headers and header parameters of the API's answers and writes, as the OpenAPI document shows them.
READ_HEADERS = {"ETag": {"schema": {"type": "string"}}}
WRITE_HEADERS = {"Location": {"schema": {"type": "string"}}, **READ_HEADERS}
IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"}}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "A retry with the same key gets the first answer instead of making a second object.",
}


class Problem(Schema):
    """RFC 9457: an error in plain words, `errors` naming each refused field."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"example": "Unprocessable Content"})
    status = fields.Integer(metadata={"example": 422})
    detail = fields.String(metadata={"example": "Some fields were refused."})
    errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), metadata={"description": "field -> messages"}
    )


class Provisioned(Schema):
    """The fields of every object a server holds: where it stands, and what failed in plain words."""

    id = fields.Integer(dump_only=True)
    account_id = fields.Integer(dump_only=True)
    status = fields.Function(
        lambda obj: str(obj.status),
        dump_only=True,
        metadata={"enum": ["pending", "applied", "failed", "deleting"], "description": "live state"},
    )
    error = fields.Method("_error", dump_only=True, metadata={"description": "what failed, in plain words"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _error(self, obj: Any) -> str:
        failure = explain(obj) if str(obj.status) == "failed" or obj.last_error else None
        return failure.words if failure else ""


def _cursor(value: str) -> None:
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and 1 <= int(value) <= INT_MAX):
        raise ValidationError("Not a cursor: take it from the Link header.")


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100))
    cursor = fields.String(
        load_default=None,
        validate=_cursor,
        metadata={"description": "from the Link header", "pattern": "^[0-9]{1,10}$"},
    )


class Options(Schema):
    """What OPTIONS says of a resource: its methods and, per writing method, the fields a client may set."""

    allow = fields.List(fields.String())
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Raw()),
        metadata={"description": "method -> field -> {type, required, write_only}"},
    )
