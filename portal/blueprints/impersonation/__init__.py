from flask import Blueprint

bp = Blueprint("impersonation", __name__)

from portal.blueprints.impersonation import views  # noqa: E402,F401
