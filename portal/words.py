"""Words in the reader's language, for every layer: Flask-Babel's gettext with the catalog found once
per request and locale. Flask-Babel looks it up through four context lookups on every call, and a
list page asks for hundreds of strings (a quarter of its time, measured). force_locale() is followed.

Python code takes `gettext`, `ngettext`, `lazy_gettext` from here; templates get the same catalog
through portal/i18n.py, which also picks the request's language.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString


def locale_now() -> Any:
    """get_locale(), read where Flask-Babel keeps it once chosen (get_locale() costs four context
    lookups, and a list asks once per row). force_locale() swaps the object kept there."""
    babel_state = g.get("_flask_babel")
    return getattr(babel_state, "babel_locale", None) or get_locale()


def catalog() -> Any:
    """The catalog of the request's locale, or of the one force_locale() set for a while."""
    if not has_request_context():
        return get_translations()
    locale = locale_now()
    found = g.get("translations")
    if found is None or found[0] is not locale:
        found = g.translations = (locale, get_translations())
    return found[1]


def gettext(string: str, **variables: Any) -> str:
    text = catalog().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return catalog().ungettext(singular, plural, num) % variables


def pgettext(context: str, string: str, **variables: Any) -> str:
    text = catalog().upgettext(context, string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Words defined at import time, translated when shown."""
    return LazyString(gettext, string, **variables)
