from flask import Blueprint

bp = Blueprint("reseller", __name__)

from portal.blueprints.reseller import views  # noqa: E402,F401
