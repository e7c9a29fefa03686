from flask import Blueprint

bp = Blueprint("mailboxes", __name__, url_prefix="/mailboxes")

from portal.blueprints.mailboxes import views  # noqa: E402,F401
