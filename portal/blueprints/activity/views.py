"""The account's activity: every audit event of the accounts the user may see."""

from flask import Blueprint, render_template

from portal.blueprints.common import listing, paginated, with_people
from portal.blueprints.kept import kept
from portal.models import AuditEvent
from portal.security.roles import customer
from portal.security.scoping import current_actor, scoped

bp = Blueprint("activity", __name__)

PER_PAGE = 50


@bp.route("/activity")
@customer
@kept
def index():
    actor = current_actor()
    filters = listing(actor)
    query = filters.narrow(scoped(AuditEvent, actor), AuditEvent, AuditEvent.object_name)
    page = paginated(with_people(query), per_page=PER_PAGE)
    return render_template("activity/index.html", page=page, own_account_id=actor.account_id, listing=filters)
