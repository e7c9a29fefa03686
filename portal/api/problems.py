"""Every API error is an RFC 9457 problem document (application/problem+json), in plain words.

`type` stays "about:blank": the status says what kind of problem it is, `title` is its standard phrase,
`detail` says what happened here, and `errors` names each refused field. A foreign object and a missing
one answer the same 404 document.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, json
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions
from werkzeug.http import HTTP_STATUS_CODES

from portal.extensions import db
from portal.services import ServiceError
from portal.words import gettext

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


def _defaults() -> dict[int, str]:
    # Worded per request: each problem is in the language the request asked for.
    return {
        400: gettext("The request could not be understood."),
        401: gettext("Send a valid API token: Authorization: Bearer hdpat_…"),
        403: gettext("This token may not do this."),
        404: gettext("There is nothing here, or it is not yours to see."),
        405: gettext("This method is not allowed here."),
        409: gettext("Someone made the same change a moment ago, so nothing was saved. Try again."),
        412: gettext("The object changed since you read it. Read it again, then send your change."),
        415: gettext("Send the body as application/json."),
        422: gettext("Some fields were refused."),
        428: gettext("Send If-Match with the ETag you read."),
        429: gettext("Too many requests. Wait, then try again."),
        500: gettext("Something went wrong. Our team has been told; try again later."),
    }


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": str(detail or _defaults().get(status, HTTP_STATUS_CODES.get(status, ""))),
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _messages(data: Any) -> dict[str, list[str]]:
    """webargs' messages ({"json": {"field": ["…"]}}) as field -> messages, nested names joined by dots."""
    found: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            found.setdefault(prefix or "body", []).extend(value)
        else:
            found.setdefault(prefix or "body", []).append(str(value))

    for location in (data or {}).values():
        walk("", location)
    return found


def from_http(error: HTTPException) -> Response:
    code = error.code or 500
    if code >= 500:
        db.session.rollback()
    data = getattr(error, "data", None) or {}
    errors = _messages(data.get("messages")) if code == 422 else None
    # A description we wrote ourselves (abort(403, description=…)) says more than the default.
    ours = error.description if error.description != type(error).description else None
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    extra = {k: v for k, v in headers.items() if k in ("Allow", "Retry-After", "WWW-Authenticate")}
    if error.response is not None:
        extra.update({k: v for k, v in error.response.headers.items() if k in ("Retry-After", "WWW-Authenticate")})
    return problem(code, ours, errors=errors, headers=extra)


def from_refusal(error: ServiceError) -> Response:
    """A service's refusal: 422, its words at its field (or as the detail)."""
    db.session.rollback()
    if error.field:
        return problem(422, None, errors={error.field: [str(error.message)]})
    return problem(422, str(error.message))


def from_conflict(error: IntegrityError) -> Response:
    db.session.rollback()
    return problem(409)


def from_bug(error: Exception) -> Response:
    db.session.rollback()
    original = getattr(error, "original_exception", None) or error
    log.error("API request failed", exc_info=original)
    return problem(500)


def answer_in_problems(blp: Blueprint) -> None:
    """The blueprint's errors as problem documents (its own handlers win over the pages' HTML ones)."""
    # By code too: Flask tries every handler of a code (the app's HTML pages) before any by class.
    for code in default_exceptions:
        blp.register_error_handler(code, from_bug if code == 500 else from_http)
    blp.register_error_handler(HTTPException, from_http)
    blp.register_error_handler(ServiceError, from_refusal)
    blp.register_error_handler(IntegrityError, from_conflict)
    blp.register_error_handler(InternalServerError, from_bug)
