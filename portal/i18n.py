"""The pages' language and timezone: the user's choice, else what the browser asks for.

Strings go through Flask-Babel (`_()` in templates, `gettext`/`lazy_gettext` in Python); the
catalogs live in portal/translations and `make messages` extracts and compiles them.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask_login import current_user

from portal.extensions import babel

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"


def pick_locale() -> str:
    if not has_request_context():
        return DEFAULT
    # Flask-Babel asks once per request and keeps the answer (refresh() forgets it).
    chosen = getattr(current_user, "locale", None)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES, DEFAULT) or DEFAULT


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    babel.init_app(app, locale_selector=pick_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = pick_locale
