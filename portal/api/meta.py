"""The API's own document (/api/v1/openapi.json and its page), and the answer to paths no API route takes."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app, json, render_template, request
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from portal.api.access import PUBLIC, scope
from portal.api.problems import answer_in_problems, from_http
from portal.api.reference import INSIDE, objects, sections
from portal.extensions import csrf
from portal.security.roles import public

blp = Blueprint("api_meta", __name__, url_prefix="/api/v1")
answer_in_problems(blp)
csrf.exempt(blp)


def _document() -> dict[str, Any]:
    """The OpenAPI document, made once per process: the routes do not change once the app is made."""
    found: dict[str, Any] | None = current_app.extensions.get("hostdeck.api_document")
    if found is None:
        found = current_app.extensions["hostdeck.api_document"] = current_app.extensions["hostdeck.api"].spec.to_dict()
    return found


@blp.route("/openapi.json", endpoint="openapi")
@scope(PUBLIC)
def openapi() -> Response:
    document = _document()
    return Response(json.dumps(document), mimetype="application/json")


@blp.route("/docs", endpoint="docs")
@public  # a page, walked with the pages (axe, 390 px, no 500)
@scope(PUBLIC)
def docs() -> str:
    """The reference page, read off the document (reference.py)."""
    document = _document()
    scopes = {}
    for rule in current_app.url_map.iter_rules():
        needed = getattr(current_app.view_functions[rule.endpoint], "api_scope", None)
        if needed is not None and needed != PUBLIC:
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            scopes.update({(method, path): needed for method in rule.methods or ()})
    return render_template(
        "api/docs.html",
        sections=sections(document, scopes),
        objects=objects(document),
        inside=INSIDE,
        version=document["info"]["version"],
    )


def unrouted() -> Response | None:
    """A request under /api/v1 that no route takes (an unknown path, an id the id converter refuses, a
    method the path lacks): its 404 or 405 as a problem document, not the pages' HTML. Runs before
    every request (api.init_app), ahead of the dispatch that would raise the routing error."""
    error = request.routing_exception
    if error is None or not request.path.startswith("/api/"):
        return None
    assert isinstance(error, HTTPException)  # noqa: S101 (werkzeug's routing errors are HTTP errors)
    return from_http(error)
