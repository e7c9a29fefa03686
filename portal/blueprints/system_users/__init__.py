from flask import Blueprint

bp = Blueprint("system_users", __name__, url_prefix="/system-users")

from portal.blueprints.system_users import views  # noqa: E402,F401
