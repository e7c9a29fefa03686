from flask import Blueprint

bp = Blueprint("databases", __name__, url_prefix="/databases")

from portal.blueprints.databases import views  # noqa: E402,F401
