from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from portal.blueprints.staff import accounts, views  # noqa: E402,F401
