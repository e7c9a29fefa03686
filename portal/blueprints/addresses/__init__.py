from flask import Blueprint

bp = Blueprint("addresses", __name__, url_prefix="/addresses")

from portal.blueprints.addresses import views  # noqa: E402,F401
