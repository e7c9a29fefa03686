from flask import Blueprint

bp = Blueprint("websites", __name__, url_prefix="/websites")

from portal.blueprints.websites import views  # noqa: E402,F401
