"""Small pieces every customer blueprint uses."""
from __future__ import annotations

from flask import flash, jsonify, request

from portal.extensions import db
from portal.security.scoping import current_actor, scoped
from portal.services import ServiceError


def fail_form(form, error: ServiceError) -> None:
    """Undo the request's changes and show the refusal at its field, or on top of the page."""
    db.session.rollback()
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        flash(error.message, "danger")


def status_response(model):
    """Live statuses for the ids on a page, polled by static/js/status.js."""
    ids = [int(i) for i in request.args.get("ids", "").split(",") if i.isdigit()][:200]
    rows = db.session.scalars(scoped(model, current_actor()).where(model.id.in_(ids))).all()
    found = {row.id: {"status": str(row.status), "error": row.last_error or ""} for row in rows}
    # Ids that vanished were deleted (or were never ours): both read as "gone".
    return jsonify({str(i): found.get(i, {"status": "gone", "error": ""}) for i in ids})
