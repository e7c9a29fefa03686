from flask import Blueprint

bp = Blueprint("domains", __name__, url_prefix="/domains")

from portal.blueprints.domains import views  # noqa: E402,F401
