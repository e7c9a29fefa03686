from flask import (
    Blueprint,
    render_template,
    url_for,
)

from portal.blueprints.common import (
    confirm_delete,
    domain_choices,
    listing,
    paginated,
    refusals,
    saved,
    status_response,
)
from portal.blueprints.kept import kept
from portal.blueprints.mailboxes.forms import (
    AutoreplyForm,
    MailboxForm,
    MailboxPasswordForm,
    QuotaForm,
)
from portal.blueprints.offers import has_proved_domain, not_served, waiting_domains
from portal.models import Domain, Mailbox
from portal.models.naming import named
from portal.orchestration.operations import is_routed, password_lost
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services.mailboxes import (
    addresses_going_with,
    change_mailbox_password,
    change_quota,
    create_mailbox,
    delete_mailbox,
    set_autoreply,
)
from portal.services.usage import mail_use, object_usage
from portal.words import gettext, lazy_gettext

bp = Blueprint("mailboxes", __name__, url_prefix="/mailboxes")


@bp.route("/")
@customer
@kept
def index():
    # In name order straight from the (account_id, local_part, domain_id) index: a page of a
    # 5,000-mailbox account reads its 50 rows, not all of them.
    actor = current_actor()
    filters = listing(actor)
    query = scoped(Mailbox, actor).order_by(Mailbox.local_part, Mailbox.domain_id)
    if filters.q:
        query = query.join(Domain, Domain.id == Mailbox.domain_id)
    query = filters.narrow(query, Mailbox, Mailbox.local_part + "@" + Domain.name)
    page = paginated(query, total=None if filters.filtered else actor.total("mailboxes"))
    # The empty state says what to do first: a mailbox needs a domain.
    has_domains = bool(page.items) or filters.filtered or actor.total("domains") > 0
    used = mail_use(actor, [m.id for m in page.items])  # the page's rows in one query
    return render_template("mailboxes/index.html", page=page, listing=filters, has_domains=has_domains, used=used)


@bp.route("/new", methods=["GET", "POST"])
@customer
def create():
    actor = current_actor()
    # Said before the form: no mail server yet (and whom to ask), or no domain to put a mailbox on.
    unserved = not_served(actor, "Mailbox", lazy_gettext("mailboxes"))
    if unserved or not has_proved_domain(actor):
        waiting = [] if unserved else waiting_domains(actor)
        return render_template("mailboxes/new.html", form=None, unserved=unserved, has_domain=False, waiting=waiting)
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
            return saved(
                gettext("%(name)s is being set up.", name=named(mailbox)), url_for(".show", mailbox_id=mailbox.id)
            )
    return render_template("mailboxes/new.html", form=form, has_domain=True)


def _page(mailbox: Mailbox, password_form=None, autoreply_form=None, status: int = 200, quota_form=None):
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
        quota=quota_form or QuotaForm(data={"quota_mb": mailbox.quota_mb}),
        addresses=sorted(mailbox.addresses, key=lambda a: a.key),
        password_lost=password_lost(mailbox),
        usage=object_usage(current_actor(), Mailbox, mailbox.id),
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


@bp.route("/<int:mailbox_id>/quota", methods=["POST"])
@customer
def quota(mailbox_id: int):
    actor = current_actor()
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, actor)
    form = QuotaForm()
    if form.validate_on_submit():
        with refusals(form):
            change_quota(actor, mailbox.id, form.quota_mb.data)
            return saved(
                gettext("The new quota of %(address)s is being applied.", address=named(mailbox)),
                url_for(".show", mailbox_id=mailbox.id),
            )
    return _page(mailbox, quota_form=form, status=400)


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
                gettext("The new password for %(name)s is being applied.", name=named(mailbox)),
                url_for(".show", mailbox_id=mailbox.id),
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
        extra=lambda mailbox: dict(zip(("going", "staying"), addresses_going_with(mailbox), strict=True)),
        done=lazy_gettext("%(name)s is being deleted."),
    )


@bp.route("/status")
@customer
def status():
    return status_response(Mailbox)
