from flask import (
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from sqlalchemy.orm import contains_eager
from wtforms import SelectChoice

from portal.blueprints.mailboxes import bp
from portal.blueprints.mailboxes.forms import (
    DeleteForm,
    MailboxForm,
    MailboxPasswordForm,
)
from portal.extensions import db
from portal.models import Domain, Mailbox
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services import ServiceError
from portal.services.mailboxes import (
    change_mailbox_password,
    create_mailbox,
    delete_mailbox,
)


def _fail(form, error: ServiceError) -> None:
    db.session.rollback()
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        flash(error.message, "danger")


@bp.route("/")
@login_required
def index():
    query = (scoped(Mailbox, current_actor()).join(Mailbox.domain).options(contains_eager(Mailbox.domain))
             .order_by(Domain.name, Mailbox.local_part))
    page = db.paginate(query, per_page=current_app.config["MAILBOXES_PER_PAGE"], error_out=False)
    return render_template("mailboxes/index.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    actor = current_actor()
    form = MailboxForm()
    form.domain_id.choices = [SelectChoice(d.id, d.name)
                              for d in db.session.scalars(scoped(Domain, actor).order_by(Domain.name))]
    if form.validate_on_submit():
        try:
            mailbox = create_mailbox(actor, local_part=form.local_part.data, domain_id=form.domain_id.data,
                                     password=form.password.data, quota_mb=form.quota_mb.data)
            db.session.commit()
        except ServiceError as error:
            _fail(form, error)
        else:
            flash(f"{mailbox.address} is being set up.", "success")
            return redirect(url_for(".show", mailbox_id=mailbox.id))
    return render_template("mailboxes/new.html", form=form)


@bp.route("/<int:mailbox_id>")
@login_required
def show(mailbox_id: int):
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, current_actor())
    return render_template("mailboxes/show.html", mailbox=mailbox, form=MailboxPasswordForm())


@bp.route("/<int:mailbox_id>/password", methods=["POST"])
@login_required
def password(mailbox_id: int):
    actor = current_actor()
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, actor)
    form = MailboxPasswordForm()
    if form.validate_on_submit():
        try:
            change_mailbox_password(actor, mailbox.id, form.password.data)
            db.session.commit()
        except ServiceError as error:
            _fail(form, error)
        else:
            flash(f"The new password for {mailbox.address} is being applied.", "success")
            return redirect(url_for(".show", mailbox_id=mailbox.id))
    return render_template("mailboxes/show.html", mailbox=mailbox, form=form), 400


@bp.route("/<int:mailbox_id>/delete", methods=["GET", "POST"])
@login_required
def delete(mailbox_id: int):
    actor = current_actor()
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, actor)
    form = DeleteForm()
    if form.validate_on_submit():
        address = mailbox.address
        try:
            delete_mailbox(actor, mailbox.id)
            db.session.commit()
        except ServiceError as error:
            _fail(form, error)
        else:
            flash(f"{address} is being deleted.", "success")
            return redirect(url_for(".index"))
    return render_template("mailboxes/delete.html", mailbox=mailbox, form=form)


@bp.route("/status")
@login_required
def status():
    """Live statuses for the ids on the page, polled by static/js/status.js."""
    ids = [int(i) for i in request.args.get("ids", "").split(",") if i.isdigit()][:200]
    rows = db.session.scalars(scoped(Mailbox, current_actor()).where(Mailbox.id.in_(ids))).all()
    found = {m.id: {"status": str(m.status), "error": m.last_error or ""} for m in rows}
    # Ids that vanished were deleted (or were never ours): both read as "gone".
    return jsonify({str(i): found.get(i, {"status": "gone", "error": ""}) for i in ids})
