"""The pages' language and timezone: the user's choice, else what the browser asks for.

Strings go through Flask-Babel's catalogs (`_()` in templates, portal/words.py's `gettext`,
`ngettext`, `lazy_gettext` in Python); they live in portal/translations and `make messages` extracts
and compiles them. The templates' gettext is portal/words.py's too.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import refresh as babel_refresh
from flask_login import current_user

from portal.extensions import babel
from portal.words import catalog

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


def refresh() -> None:
    """After the user changes language: the rest of the request speaks the new one."""
    babel_refresh()
    g.pop("translations", None)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    babel.init_app(app, locale_selector=pick_locale)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = pick_locale
