from flask import Blueprint

bp = Blueprint("activity", __name__)

from portal.blueprints.activity import views, words  # noqa: E402,F401
