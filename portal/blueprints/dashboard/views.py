import sqlalchemy as sa
from flask import render_template

from portal.blueprints.dashboard import bp
from portal.extensions import db
from portal.models import Domain, Mailbox
from portal.security.roles import user
from portal.security.scoping import current_actor, scoped


@bp.route("/")
@user
def index():
    actor = current_actor()
    by_status = dict(db.session.execute(
        scoped(Mailbox, actor).with_only_columns(Mailbox.status, sa.func.count()).group_by(Mailbox.status)
    ).all())
    domains = db.session.scalars(scoped(Domain, actor).order_by(Domain.name)).all()
    return render_template("dashboard/index.html", by_status=by_status, domains=domains,
                           mailbox_total=sum(by_status.values()))
