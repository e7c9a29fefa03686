"""Small pieces every blueprint uses.

A form runs through a service the same way everywhere (Post/Redirect/Get, one commit per request):

    if form.validate_on_submit():
        with refusals(form):
            mailbox = create_mailbox(actor, ...)
            return saved(f"{mailbox.address} is being set up.", url_for(".show", mailbox_id=mailbox.id))
    return render_template(...)  # first view, or the form again with the refusal at its field

Services flush; `saved()` commits the request's one transaction, then flashes and redirects. A
refusal (ServiceError) undoes the request's changes and falls through to render the form again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy.orm import joinedload
from werkzeug.routing import IntegerConverter
from wtforms import SelectChoice, SubmitField

from portal.blueprints.forms import INT_MAX, Form, whole_number
from portal.extensions import db
from portal.models import AuditEvent, Domain
from portal.orchestration.proof import proven
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services import ServiceError

MAX_PAGE = 1_000_000  # beyond this no list has rows, and the offset stays within the database's reach
MAX_POLLED = 200  # ids in one status poll


class IdConverter(IntegerConverter):
    """<int:...> in every route: an id is 1 to INT_MAX in ASCII digits. Anything else (0, a sign,
    Unicode digits, more than the database's integer) is not found, like an id that does not exist."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


class DeleteForm(Form):
    submit = SubmitField("Delete for good")


def fail_form(form, error: ServiceError) -> None:
    """Undo the request's changes and show the refusal at its field, or on top of the page."""
    db.session.rollback()
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "danger")


@contextmanager
def refusals(form) -> Iterator[None]:
    """A service's refusal inside this block is shown on the form, and the view carries on to render it."""
    try:
        yield
    except ServiceError as error:
        fail_form(form, error)


def saved(message: str, target: str, category: str = "success"):
    """Commit the request's changes, then say so and move on (Post/Redirect/Get).

    Both are worded before the commit, which expires every loaded object: no query reads them back."""
    db.session.commit()
    flash(message, category)
    return redirect(target)


def paginated(query, arg: str = "page", total: int | None = None, per_page: int | None = None):
    """One page of a list (PER_PAGE rows unless told), the page number read from ?<arg>=; anything
    but a page number (0, -1, 10**18, "x", Unicode digits) shows the first page.

    `total`, when known (a usage counter: Actor.total), saves counting every row of the list."""
    page = db.paginate(
        query,
        page=whole_number(request.args.get(arg), MAX_PAGE) or 1,
        per_page=per_page or current_app.config["PER_PAGE"],
        error_out=False,
        count=total is None,
    )
    if total is not None:
        page.total = total
    return page


def status_response(model):
    """Live statuses for the ids on a page, polled by static/js/status.js."""
    # Ids as the page wrote them: ASCII digits within the database's integer, each once, at most MAX_POLLED.
    polled = (whole_number(i) for i in request.args.get("ids", "").split(",", MAX_POLLED)[:MAX_POLLED])
    ids = list(dict.fromkeys(i for i in polled if i))
    rows = db.session.scalars(scoped(model, current_actor()).where(model.id.in_(ids))).all()
    found = {row.id: {"status": str(row.status), "error": row.last_error or ""} for row in rows}
    # Ids that vanished were deleted (or were never ours): both read as "gone".
    return jsonify({str(i): found.get(i, {"status": "gone", "error": ""}) for i in ids})


def confirm_delete(
    model, object_id: int, delete, *, template: str, name: str, done: str, back: str = ".index", extra=None
):
    """The delete page: GET shows what goes, a CSRF-checked POST calls the service.

    `done` is a message with `{obj}`, worded before the object is gone; `extra(obj)` adds to the page.
    """
    actor = current_actor()
    obj = get_scoped_or_404(model, object_id, actor)
    form = DeleteForm()
    if form.validate_on_submit():
        message = done.format(obj=obj)
        with refusals(form):
            delete(actor, obj.id)
            return saved(message, url_for(back))
    return render_template(template, form=form, **{name: obj}, **(extra(obj) if extra else {}))


def with_people(query: sa.Select[Any]) -> sa.Select[Any]:
    """Audit events newest first, each with its people and account: joined into the page's own query,
    not fetched apart (the activity page and the staff console)."""
    return query.options(
        joinedload(AuditEvent.actor), joinedload(AuditEvent.real_actor), joinedload(AuditEvent.account)
    ).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def domain_choices(actor) -> list[SelectChoice]:
    """The account's domains for a form's list. Those still waiting for proof stay in it, labelled, so a
    domain just added is not missing without a word; the service refuses them with the reason."""
    return [
        SelectChoice(d.id, d.display_name if proven(d) else f"{d.display_name} (waiting for proof)")
        for d in db.session.scalars(scoped(Domain, actor).order_by(Domain.name))
    ]
