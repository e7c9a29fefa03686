"""When the browser does not keep the session cookie: why, in words, instead of "Form expired".

Every page with a form sets the session cookie (its CSRF token lives there), and so do the steps of a
login and an opened password link. A request that comes back with no session cookie at all means the
browser dropped it: Secure cookies (SESSION_COOKIE_SECURE) over plain http, or cookies blocked. An
expired or foreign token comes with a cookie, and stays "Form expired".
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

from portal.words import gettext


def without_cookie() -> bool:
    """The request carries no session cookie at all."""
    return current_app.session_interface.get_cookie_name(current_app) not in request.cookies


def _browser_scheme() -> str:
    """The scheme the browser used: its Origin or Referer say so even behind a proxy ProxyFix does not trust."""
    for seen in (request.headers.get("Origin"), request.referrer):
        scheme = urlsplit(seen).scheme if seen else ""
        if scheme in ("http", "https"):
            return scheme
    return request.scheme


def trouble(*, from_link: bool = False) -> str | None:
    """Why the session cookie did not come back; None when it did. from_link: the request followed a
    password link, which only the link from the e-mail can open again."""
    if not without_cookie():
        return None
    if current_app.config["SESSION_COOKIE_SECURE"] and _browser_scheme() == "http":
        if from_link:
            return gettext(
                "Your browser did not keep the login cookie. This portal's cookies are Secure, so browsers keep "
                "them only over https: open the link from the e-mail again with https:// at its start."
            )
        return gettext(
            "Your browser did not send back the login cookie. This portal's cookies are Secure, so browsers keep "
            "them only over https: open %(url)s instead.",
            url=urlsplit(request.url)._replace(scheme="https").geturl(),
        )
    return gettext(
        "Your browser did not send back the login cookie, so this form could not be checked. Allow cookies "
        "for %(host)s (a private window or a blocker may refuse them), then reload the page and try again.",
        host=request.host,
    )
