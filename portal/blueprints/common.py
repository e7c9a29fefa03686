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
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload
from werkzeug.routing import IntegerConverter
from wtforms import SelectChoice, SubmitField

from portal.blueprints.forms import INT_MAX, Form, whole_number
from portal.blueprints.offers import account_domains
from portal.extensions import db
from portal.models import Account, AuditEvent
from portal.models.naming import named
from portal.models.validators import ascii_for_search
from portal.orchestration.dispatch import applied_here
from portal.orchestration.proof import proven
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services import ServiceError
from portal.services.failures import explain, failed_here, viewer_is_staff
from portal.services.resellers import reseller_of
from portal.words import gettext, lazy_gettext

MAX_PAGE = 1_000_000  # beyond this no list has rows, and the offset stays within the database's reach
MAX_POLLED = 200  # ids in one status poll
MAX_FILTER = 200  # characters of a list's filter (?q=)


class IdConverter(IntegerConverter):
    """<int:...> in every route: an id is 1 to INT_MAX in ASCII digits. Anything else (0, a sign,
    Unicode digits, more than the database's integer) is not found, like an id that does not exist."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


class DeleteForm(Form):
    submit = SubmitField(lazy_gettext("Delete for good"))


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

    Both are worded before the commit, which expires every loaded object: no query reads them back.
    When the commit applied the change in this process (no Redis: the demo) and it failed, the flash
    says what failed instead, in plain words (services/failures.py)."""
    db.session.commit()
    # applied_here() first: the commit expired the login, and is_authenticated would read it back.
    failed = failed_here(current_actor()) if applied_here() and current_user.is_authenticated else None
    if failed:
        flash(failed, "danger")
    else:
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
    found = {row.id: polled_state(row, viewer_is_staff()) for row in rows}
    # Ids that vanished were deleted (or were never ours): both read as "gone".
    return jsonify({str(i): found.get(i, {"status": "gone", "error": ""}) for i in ids})


def polled_state(row, staff: bool) -> dict[str, Any]:
    """One object in a status poll: its status and what failed in plain words; for staff also the raw
    detail (servers, paths, stderr), which a customer never gets. `retry`: "Try again" may help."""
    failure = explain(row)
    state: dict[str, Any] = {
        "status": str(row.status),
        "error": failure.words if failure else "",
        "retry": bool(failure and failure.retry),
    }
    if staff:
        state["detail"] = failure.detail if failure else ""
    return state


def confirm_delete(
    model, object_id: int, delete, *, template: str, name: str, done: Any, back: str = ".index", extra=None
):
    """The delete page: GET shows what goes, a CSRF-checked POST calls the service.

    `done` is a message (lazy_gettext) with `%(name)s`, the object's name for people (naming.named()),
    worded before the object is gone; `extra(obj)` adds to the page.
    """
    actor = current_actor()
    obj = get_scoped_or_404(model, object_id, actor)
    form = DeleteForm()
    if form.validate_on_submit():
        message = str(done) % {"name": named(obj)}
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
        SelectChoice(
            d.id, d.display_name if proven(d) else gettext("%(name)s (waiting for proof)", name=d.display_name)
        )
        for d in account_domains(actor)
    ]


def matching(text: str, *columns: Any) -> sa.ColumnElement[bool]:
    """Rows where one of the columns holds the text, in any case: as typed, or with its domain part in
    A-labels as domains are stored (bücher -> xn--bcher-kva). LIKE's % and _ in it are plain characters
    (autoescape), as in the staff search."""
    local, at, domain = text.rpartition("@")
    spellings = {text, f"{local}{at}{ascii_for_search(domain)}"}
    return sa.or_(*(column.icontains(spelling, autoescape=True) for column in columns for spelling in spellings))


@dataclass(frozen=True)
class Listing:
    """A list's filter as the request asks for it (_macros/lists.html shows it): ?q=, text in a name,
    and for a reseller ?account=, its own account or one of its sub-accounts. `accounts` (id, name) is
    empty for anyone else, and then the list has no Account column."""

    q: str = ""
    account_id: int | None = None
    accounts: tuple[tuple[int, str], ...] = ()
    keep: tuple[tuple[str, str], ...] = ()  # the page's other filters, which the filter form carries
    names: dict[int, str] = field(default_factory=dict)

    @property
    def filtered(self) -> bool:
        return bool(self.q) or self.account_id is not None or bool(self.keep)

    @property
    def clear_url(self) -> str:
        return url_for(request.endpoint or "", **(request.view_args or {}))

    def narrow(self, query: sa.Select[Any], model: Any, *columns: Any) -> sa.Select[Any]:
        """The list's own (scoped) query, with the rows the filter leaves: text in one of the columns, and
        the chosen account. The account narrows a scoped query: another's id leaves nothing."""
        if self.q:
            query = query.where(matching(self.q, *columns))
        if self.account_id is not None:
            query = query.where(model.account_id == self.account_id)
        return query


def listing(actor, *, accounts: bool = True, keep: tuple[str, ...] = ()) -> Listing:
    """The filter of a list page. A reseller (not acting inside one sub-account) gets its own account and
    sub-accounts to choose from, read once (the Account column's names too); an account id that is not
    one of them is not found."""
    q = request.args.get("q", "").strip()[:MAX_FILTER]
    kept = tuple((name, value) for name in keep if (value := request.args.get(name, "")))
    reseller = reseller_of(actor) if accounts and actor.acting is None and actor.scope is not None else None
    if reseller is None:
        return Listing(q=q, keep=kept)
    choices = tuple(
        (row.id, row.name)
        for row in db.session.execute(
            sa.select(Account.id, Account.name)
            .where(sa.or_(Account.id == reseller.id, Account.parent_id == reseller.id))
            .order_by(Account.parent_id.is_not(None), Account.name, Account.id)
        )
    )
    names = dict(choices)
    raw = request.args.get("account", "")
    account_id = whole_number(raw) if raw else None
    if raw and account_id not in names:
        abort(404)
    return Listing(q=q, account_id=account_id, accounts=choices, keep=kept, names=names)
