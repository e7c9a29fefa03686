"""Where the servers fill up: per server, the accounts storing the most there (staff read it; the
figures are services/usage.py's, read through the console)."""

from flask import render_template

from portal.blueprints.staff.blueprint import bp
from portal.security.roles import staff_required
from portal.security.scoping import current_actor
from portal.services.usage import heaviest

PER_SERVER = 10


@bp.route("/usage")
@staff_required
def usage():
    return render_template("staff/usage.html", servers=heaviest(current_actor(), PER_SERVER), per_server=PER_SERVER)
