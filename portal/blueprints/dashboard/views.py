import sqlalchemy as sa
from flask import Blueprint, render_template

from portal.extensions import db
from portal.models import Domain, Mailbox, Status
from portal.security.roles import user
from portal.security.scoping import current_actor, scoped

bp = Blueprint("dashboard", __name__)

SHOWN_DOMAINS = 10
UNSETTLED = (Status.PENDING, Status.FAILED, Status.DELETING)


@bp.route("/")
@user
def index():
    actor = current_actor()
    total = actor.total("mailboxes")
    # Only the few not yet applied are counted, straight from the (account_id, status) index; the
    # rest of the total (a usage counter) is applied. Counting 5,000 applied rows told nothing new.
    # (Equalities, not IN: SQLAlchemy spends 0.3 ms expanding an IN of enum values on every request.)
    by_status = dict(
        db.session.execute(
            scoped(Mailbox, actor)
            .where(sa.or_(*(Mailbox.status == status for status in UNSETTLED)))
            .with_only_columns(Mailbox.status, sa.func.count())
            .group_by(Mailbox.status)
        )
        .tuples()
        .all()
    )
    # (Never below zero: a create between the two reads is in the count, not yet in the total.)
    by_status = {Status.APPLIED: max(0, total - sum(by_status.values())), **by_status}
    domains = db.session.scalars(scoped(Domain, actor).order_by(Domain.name).limit(SHOWN_DOMAINS)).all()
    return render_template(
        "dashboard/index.html",
        by_status={s: n for s, n in by_status.items() if n},
        domains=domains,
        mailbox_total=total,
        domain_total=actor.total("domains"),
    )
