"""The support console: find an account, see everything about it, impersonate its users."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import joinedload, selectinload

from portal.blueprints.common import listing, matching, paginated, refusals, saved, with_people
from portal.blueprints.kept import kept
from portal.blueprints.staff.blueprint import bp
from portal.blueprints.staff.forms import ActionForm, EventFilterForm, VerifyDomainForm
from portal.extensions import db
from portal.models import KINDS, LIMITS, Account, AuditEvent, Domain, Mailbox, Operation, OpState, User
from portal.models.naming import in_unicode, named
from portal.models.validators import ascii_for_search, domain_to_ascii
from portal.orchestration.proof import proven, record_name, token
from portal.security import sessions
from portal.security.roles import staff_required
from portal.security.scoping import console, current_actor
from portal.services.domains import verify_as_staff
from portal.services.password_links import send_link_as_staff
from portal.services.resellers import usage
from portal.words import gettext

RESULTS = 50


def _ascii(text: str) -> str:
    """A domain typed in Unicode or as A-labels, whole or in part, as domains are stored."""
    try:
        return domain_to_ascii(text)
    except ValueError:
        return ascii_for_search(text)


def _login_matches(text: str) -> sa.ColumnElement[bool]:
    """Logins containing the text, typed with its domain in Unicode or as A-labels (either is stored)."""
    local, at, domain = text.lower().rpartition("@")
    spellings = {text.lower(), f"{local}{at}{ascii_for_search(domain)}" if at else text.lower()}
    return sa.or_(*(User.email.contains(spelling, autoescape=True) for spelling in spellings))


def _with_account(model):
    """A match brings its account, and that account's reseller, in the same query."""
    return joinedload(model.account).joinedload(Account.parent)


def search_accounts(text: str) -> list[tuple[Account, str]]:
    """Accounts whose name, login e-mail, domain or mailbox matches; with what matched.

    The text is a plain part of a name: LIKE's % and _ in it are characters (contains(autoescape=True))."""
    actor, text = current_actor(), text.lower()
    found: dict[int, tuple[Account, str]] = {}

    def add(rows, why):
        for account, matched in rows:
            found.setdefault(account.id, (account, f"{why}: {matched}"))

    add(
        (
            (a, a.name)
            for a in db.session.scalars(
                console(Account, actor)
                .where(sa.func.lower(Account.name).contains(text, autoescape=True))
                .options(joinedload(Account.parent))
                .limit(RESULTS)
            )
        ),
        gettext("name"),
    )
    # The LIKEs use trigram indexes (migration 0015).
    add(
        (
            (u.account, in_unicode(u.email))
            for u in db.session.scalars(
                console(User, actor)
                .where(_login_matches(text), User.account_id.is_not(None))
                .options(_with_account(User))
                .limit(RESULTS)
            )
        ),
        gettext("login"),
    )
    domain_part = _ascii(text.split("@")[-1])
    add(
        (
            (d.account, named(d))
            for d in db.session.scalars(
                console(Domain, actor)
                .where(Domain.name.contains(domain_part, autoescape=True))
                .options(_with_account(Domain))
                .limit(RESULTS)
            )
        ),
        gettext("domain"),
    )
    if "@" in text:
        local, _, domain = text.partition("@")
        boxes = (
            console(Mailbox, actor)
            .join(Domain, Mailbox.domain_id == Domain.id)
            .where(Mailbox.local_part == local, Domain.name == _ascii(domain))
        )
    else:
        boxes = console(Mailbox, actor).where(Mailbox.local_part.contains(text, autoescape=True))
    add(
        ((m.account, named(m)) for m in db.session.scalars(boxes.options(_with_account(Mailbox)).limit(RESULTS))),
        gettext("mailbox"),
    )
    return sorted(found.values(), key=lambda pair: pair[0].name.lower())[:RESULTS]


@bp.route("/accounts")
@staff_required
@kept(console=True)
def accounts():
    filters = listing(current_actor(), accounts=False)
    text = filters.q
    if text:
        rows = search_accounts(text)
    else:
        query = (
            console(Account, current_actor())
            .where(Account.deleting_at.is_(None))
            .order_by(Account.name)
            .options(joinedload(Account.parent))
        )
        rows = [(a, "") for a in db.session.scalars(query.limit(200))]
    return render_template("staff/accounts.html", rows=rows, q=text, listing=filters)


@bp.route("/accounts/<int:account_id>")
@staff_required
def account(account_id: int):
    actor = current_actor()
    found = db.session.scalar(
        console(Account, actor)
        .where(Account.id == account_id)
        .options(selectinload(Account.users), selectinload(Account.children))
    )
    if found is None:
        abort(404)
    services = {
        str(kind.plural)[:1].upper() + str(kind.plural)[1:]: db.session.scalars(
            console(kind.model, actor).where(kind.model.account_id == found.id).order_by(kind.model.id).limit(100)
        ).all()
        for kind in KINDS
    }
    failed = db.session.scalars(
        console(Operation, actor)
        .where(Operation.account_id == found.id, Operation.state == OpState.FAILED)
        .order_by(Operation.id.desc())
        .limit(20)
    ).all()
    events = db.session.scalars(
        with_people(console(AuditEvent, actor).where(AuditEvent.account_id == found.id)).limit(25)
    ).all()
    unverified = console(Domain, actor).where(Domain.account_id == found.id, Domain.verified_at.is_(None))
    waiting = [d for d in db.session.scalars(unverified.order_by(Domain.name).limit(100)) if not proven(d)]
    return render_template(
        "staff/account.html",
        account=found,
        waiting=[(d, record_name(d.name), token(d.account_id, d.name)) for d in waiting],
        verify_form=VerifyDomainForm(),
        services=services,
        failed=failed,
        events=events,
        usage=usage([found])[found.id],
        limits=LIMITS,
        stepped_up=sessions.stepped_up(sessions.current()),
    )


@bp.route("/domains/<int:domain_id>/verify", methods=["POST"])
@staff_required
def verify_domain(domain_id: int):
    """Mark a domain verified by hand, with a reason for the audit trail."""
    domain = db.first_or_404(console(Domain, current_actor()).where(Domain.id == domain_id))
    form, back = VerifyDomainForm(), url_for(".account", account_id=domain.account_id)
    if form.validate_on_submit():
        with refusals(form):
            verify_as_staff(current_actor(), domain.id, form.reason.data or "")
            return saved(gettext("%(name)s is verified and being set up.", name=named(domain)), back)
        for error in form.reason.errors:
            flash(error, "danger")
    return redirect(back)


@bp.route("/logins/<int:subject_id>/password-link", methods=["POST"])
@staff_required
def password_link(subject_id: int):
    """E-mail a customer's or reseller's login a set-password link (never a staff or admin login)."""
    target = db.first_or_404(console(User, current_actor()).where(User.id == subject_id))
    back = url_for(".account", account_id=target.account_id) if target.account_id else url_for(".accounts")
    form = ActionForm()
    if form.validate_on_submit():
        with refusals(form):
            send_link_as_staff(current_actor(), target.id)
            return saved(gettext("A set-password link is on its way to %(email)s.", email=target.email), back)
    return redirect(back)


@bp.route("/events")
@staff_required
def events():
    form = EventFilterForm(request.args)
    filters = listing(current_actor(), accounts=False, keep=("account", "who", "action", "impersonated"))
    query = console(AuditEvent, current_actor())
    if filters.q:
        query = query.where(matching(filters.q, AuditEvent.object_name))
    if form.validate():
        if form.account.data:
            query = query.where(AuditEvent.account_id == form.account.data)
        if form.who.data:
            people = sa.select(User.id).where(_login_matches(form.who.data))
            query = query.where(sa.or_(AuditEvent.actor_id.in_(people), AuditEvent.real_actor_id.in_(people)))
        if form.action.data:
            query = query.where(AuditEvent.action.startswith(form.action.data, autoescape=True))
        if form.impersonated.data:
            query = query.where(AuditEvent.real_actor_id.is_not(None))
    page = paginated(with_people(query), per_page=50)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("staff/events.html", page=page, form=form, args=args, listing=filters)
