from flask import (
    Blueprint,
    render_template,
    url_for,
)

from portal.blueprints.common import confirm_delete, domain_choices, paginated, refusals, saved, status_response
from portal.blueprints.mailboxes.forms import (
    AutoreplyForm,
    MailboxForm,
    MailboxPasswordForm,
)
from portal.models import Mailbox
from portal.orchestration.operations import is_routed, password_lost
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services.mailboxes import (
    change_mailbox_password,
    create_mailbox,
    delete_mailbox,
    set_autoreply,
)

bp = Blueprint("mailboxes", __name__, url_prefix="/mailboxes")


@bp.route("/")
@customer
def index():
    # In name order straight from the (account_id, local_part, domain_id) index: a page of a
    # 5,000-mailbox account reads its 50 rows, not all of them.
    actor = current_actor()
    query = scoped(Mailbox, actor).order_by(Mailbox.local_part, Mailbox.domain_id)
    page = paginated(query, total=actor.total("mailboxes"))
    return render_template("mailboxes/index.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@customer
def create():
    actor = current_actor()
    form = MailboxForm()
    form.domain_id.choices = domain_choices(actor)
    has_postfix = is_routed("postfix")
    if not has_postfix:  # no addresses without Postfix
        del form.with_address
    if form.validate_on_submit():
        with refusals(form):
            mailbox = create_mailbox(
                actor,
                local_part=form.local_part.data,
                domain_id=form.domain_id.data,
                password=form.password.data,
                quota_mb=form.quota_mb.data,
                with_address=has_postfix and form.with_address.data,
            )
            return saved(f"{mailbox.address} is being set up.", url_for(".show", mailbox_id=mailbox.id))
    return render_template("mailboxes/new.html", form=form)


def _page(mailbox: Mailbox, password_form=None, autoreply_form=None, status: int = 200):
    if autoreply_form is None:
        autoreply_form = AutoreplyForm(
            data={
                "enabled": mailbox.autoreply_enabled,
                "subject": mailbox.autoreply_subject or "Out of office",
                "message": mailbox.autoreply_message,
                "start": mailbox.autoreply_start,
                "end": mailbox.autoreply_end,
            }
        )
    return render_template(
        "mailboxes/show.html",
        mailbox=mailbox,
        form=password_form or MailboxPasswordForm(),
        autoreply=autoreply_form,
        addresses=sorted(mailbox.addresses, key=lambda a: a.key),
        password_lost=password_lost(mailbox),
    ), status


@bp.route("/<int:mailbox_id>")
@customer
def show(mailbox_id: int):
    return _page(get_scoped_or_404(Mailbox, mailbox_id, current_actor()))


@bp.route("/<int:mailbox_id>/autoreply", methods=["POST"])
@customer
def autoreply(mailbox_id: int):
    actor = current_actor()
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, actor)
    form = AutoreplyForm()
    if form.validate_on_submit():
        with refusals(form):
            set_autoreply(
                actor,
                mailbox.id,
                enabled=form.enabled.data,
                subject=form.subject.data or "",
                message=form.message.data or "",
                start=form.start.data,
                end=form.end.data,
            )
            return saved("The automatic reply is being applied.", url_for(".show", mailbox_id=mailbox.id))
    return _page(mailbox, autoreply_form=form, status=400)


@bp.route("/<int:mailbox_id>/password", methods=["POST"])
@customer
def password(mailbox_id: int):
    actor = current_actor()
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, actor)
    form = MailboxPasswordForm()
    if form.validate_on_submit():
        with refusals(form):
            change_mailbox_password(actor, mailbox.id, form.password.data)
            return saved(
                f"The new password for {mailbox.address} is being applied.", url_for(".show", mailbox_id=mailbox.id)
            )
    return _page(mailbox, password_form=form, status=400)


@bp.route("/<int:mailbox_id>/delete", methods=["GET", "POST"])
@customer
def delete(mailbox_id: int):
    return confirm_delete(
        Mailbox,
        mailbox_id,
        delete_mailbox,
        template="mailboxes/delete.html",
        name="mailbox",
        done="{obj.address} is being deleted.",
    )


@bp.route("/status")
@customer
def status():
    return status_response(Mailbox)
