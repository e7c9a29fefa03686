"""The pages' language and timezone: the user's choice, else what the browser asks for.

Strings go through Flask-Babel's catalogs (`_()` in templates; `gettext`, `ngettext`, `lazy_gettext`
from this module in Python); they live in portal/translations and `make messages` extracts and
compiles them. This module's gettext is Flask-Babel's, with the catalog found once per request and
locale: Flask-Babel looks it up through four context lookups on every call, and a list page asks
for hundreds of strings (a quarter of its time, measured). It follows force_locale().
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_request_context, request
from flask_babel import get_locale, get_translations
from flask_babel import refresh as babel_refresh
from flask_babel.speaklater import LazyString
from flask_login import current_user

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


def locale_now() -> Any:
    """get_locale(), read where Flask-Babel keeps it once chosen (get_locale() costs four context
    lookups, and a list asks once per row). force_locale() swaps the object kept there."""
    babel_state = g.get("_flask_babel")
    return getattr(babel_state, "babel_locale", None) or get_locale()


def _translations() -> Any:
    """The catalog of the request's locale, or of the one force_locale() set for a while."""
    if not has_request_context():
        return get_translations()
    locale = locale_now()
    found = g.get("translations")
    if found is None or found[0] is not locale:
        found = g.translations = (locale, get_translations())
    return found[1]


def gettext(string: str, **variables: Any) -> str:
    text = _translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return _translations().ungettext(singular, plural, num) % variables


def pgettext(context: str, string: str, **variables: Any) -> str:
    text = _translations().upgettext(context, string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Words defined at import time, translated when shown."""
    return LazyString(gettext, string, **variables)


def refresh() -> None:
    """After the user changes language: the rest of the request speaks the new one."""
    babel_refresh()
    g.pop("translations", None)


def init_app(app: Flask) -> None:
    from portal.extensions import babel  # extensions imports the models, which use gettext from here

    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    babel.init_app(app, locale_selector=pick_locale)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = pick_locale
