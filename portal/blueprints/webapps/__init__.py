from flask import Blueprint

bp = Blueprint("webapps", __name__, url_prefix="/webapps")

from portal.blueprints.webapps import views  # noqa: E402,F401
