"""The dashboard: where the account stands (usage against limits, what is pending or failed, recent
activity, the next useful step), and for staff on their own, the console's way in."""

import sqlalchemy as sa
from flask import Blueprint, render_template

from portal.blueprints.common import with_people
from portal.blueprints.kept import kept
from portal.extensions import db
from portal.models import Account, AuditEvent, Operation, OpState, Status
from portal.security.roles import user
from portal.security.scoping import console, current_actor, scoped
from portal.services import overview
from portal.services.usage import account_totals
from portal.words import lazy_gettext as _l

bp = Blueprint("dashboard", __name__)

RECENT = 5
# Where each kind's objects are listed, for the "failed" and "pending" links (a test checks every kind is here).
LISTS = {
    "Domain": "domains.index",
    "DnsRecord": "domains.index",  # each domain's zone page lists its records
    "Mailbox": "mailboxes.index",
    "Address": "addresses.index",
    "Database": "databases.index",
    "DatabaseUser": "databases.index",
    "SystemUser": "system_users.index",
    "WebApp": "webapps.index",
    "Website": "websites.index",
}

# The "get started" steps: words and where to go. Lazy, so a page that shows none translates none.
STEP_WORDS = {
    "domain": (_l("Add a domain"), _l("The name your mail and websites live under."), "domains.index"),
    "proof": (_l("Prove the domain is yours"), _l("Publish one DNS record; we check it for you."), "domains.index"),
    "mailbox": (_l("Create a mailbox"), _l("An address with its own inbox and password."), "mailboxes.create"),
    "system_user": (
        _l("Create a system user"),
        _l("The login that owns your websites' files (SFTP)."),
        "system_users.create",
    ),
    "web_app": (_l("Set up a web app"), _l("PHP for your site, then a website to serve it."), "webapps.create"),
}


@bp.route("/")
@user
@kept
def index():
    actor = current_actor()
    if actor.scope is None:
        return _console_home(actor) if actor.user.is_staff else render_template("dashboard/none.html")
    unsettled = overview.unsettled(actor)
    failed = {kind: overview.failed(actor, kind) for kind, counts in unsettled.items() if counts.get(Status.FAILED)}
    used, waiting = actor.totals(), overview.waiting_domains(actor)
    steps = overview.first_steps(used, waiting)
    return render_template(
        "dashboard/index.html",
        meters=overview.meters(actor, used),
        measured=account_totals(actor),
        mail_quota_mb=used.get("quota_mb", 0),
        unsettled=unsettled,
        failed=failed,
        lists=LISTS,
        steps=steps,
        step_words=STEP_WORDS,
        new_account=not any(step.done for step in steps),
        waiting=waiting,
        events=db.session.scalars(with_people(scoped(AuditEvent, actor)).limit(RECENT)).all(),
        own_account_id=actor.account_id,
    )


def _console_home(actor):
    """Staff and admins on their own: the figures that say where to look first."""
    failed_ops = db.session.scalar(
        console(Operation, actor).where(Operation.state == OpState.FAILED).with_only_columns(sa.func.count())
    )
    accounts = db.session.scalar(console(Account, actor).with_only_columns(sa.func.count()))
    return render_template("dashboard/staff.html", failed_ops=failed_ops or 0, accounts=accounts or 0)
