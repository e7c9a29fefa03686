"""The account's activity: every audit event of the accounts the user may see."""

import sqlalchemy as sa
from flask import Blueprint, render_template
from sqlalchemy.orm import joinedload

from portal.blueprints.activity.words import describe_event, event_actor
from portal.extensions import db
from portal.models import AuditEvent
from portal.security.roles import customer
from portal.security.scoping import current_actor, scoped

bp = Blueprint("activity", __name__)
bp.add_app_template_global(describe_event)
bp.add_app_template_global(event_actor)

PER_PAGE = 50


def with_people(query: sa.Select) -> sa.Select:
    # Each is one row per event: joined into the page's own query, not fetched apart.
    return query.options(
        joinedload(AuditEvent.actor), joinedload(AuditEvent.real_actor), joinedload(AuditEvent.account)
    ).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


@bp.route("/activity")
@customer
def index():
    actor = current_actor()
    page = db.paginate(with_people(scoped(AuditEvent, actor)), per_page=PER_PAGE, error_out=False)
    return render_template("activity/index.html", page=page, own_account_id=actor.account_id)
