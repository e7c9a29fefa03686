"""Kept pages: what a page showed of an account, kept until the account changes.

A view marked `@kept` is rendered once per viewer, language, address and revision of what it shows
(models/revisions.py: the scope account's number and the shared one, or for the staff console the
`any` number). Its blocks (title, head, content, scripts) are kept in this process for KEEP_SECONDS
at most; the frame (menus, banners, flashed messages, the log-out form) is rendered on every request.
A form's CSRF token is kept as a marker and the request's own token is written in its place.

Only a 200 HTML answer to a GET is kept. The key holds the viewer (and the staff user behind an
impersonation), so no one is shown a page rendered for somebody else.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from cachetools import TTLCache
from flask import Response, current_app, g, make_response, render_template, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from portal.models import revisions
from portal.security.scoping import current_actor
from portal.words import locale_now

KEEP_SECONDS = 60  # at most this late, for a change whose revision could not be moved
BLOCKS = ("title", "head", "content", "scripts")
_TOKEN = secrets.token_hex(8)
_CSRF = f"\x00csrf-{_TOKEN}\x00"  # where the request's CSRF token goes


def _marker(name: str) -> str:
    """Where a block starts (its name) or ends ("/" and its name) in a page being kept."""
    return f"<!--kept-{_TOKEN}-{name}-->"


def mark(name: str) -> Markup:
    """base.html puts these around each block while a page is being kept (and nowhere else)."""
    # The token is ours and the names are base.html's.
    return Markup(_marker(name)) if g.get("keeping") else Markup("")  # noqa: S704


def _pages() -> tuple[TTLCache, threading.Lock]:
    found = current_app.extensions.get("hostdeck.kept")
    if found is None:
        megabytes = current_app.config["KEPT_PAGES_MB"]
        pages: TTLCache = TTLCache(maxsize=megabytes << 20, ttl=KEEP_SECONDS, getsizeof=_size)
        found = current_app.extensions["hostdeck.kept"] = (pages, threading.Lock())
    return found


def _size(blocks: dict[str, str]) -> int:
    return sum(len(text) for text in blocks.values()) + 200


def _key(console: bool) -> tuple[Any, ...] | None:
    actor = current_actor()
    if console:
        names = [revisions.ANY]
    elif actor.scope is not None:
        names = [revisions.SHARED, revisions.account(actor.scope.id)]
    else:
        return None
    numbers = revisions.read(names)
    if numbers is None:
        return None
    real = actor.real_user.id if actor.real_user is not None else None
    acting = actor.acting.id if actor.acting is not None else None
    viewer = (actor.user.id, real, acting, str(locale_now()), actor.user.timezone)
    return (request.endpoint, request.host, request.full_path, tuple(names), numbers, viewer)


def _split(html: str) -> dict[str, str] | None:
    blocks = {}
    for name in BLOCKS:
        _, found, rest = html.partition(_marker(name))
        if not found:
            return None
        blocks[name], found, _ = rest.partition(_marker(f"/{name}"))
        if not found:
            return None
    return blocks


def _unmarked(html: str) -> str:
    for name in BLOCKS:
        html = html.replace(_marker(name), "").replace(_marker(f"/{name}"), "")
    return html


def _shown(blocks: dict[str, str]) -> Response:
    token = generate_csrf()
    # Kept blocks are our templates' own output, escaped when first rendered.
    filled = {name: Markup(text.replace(_CSRF, token)) for name, text in blocks.items()}  # noqa: S704
    return make_response(render_template("base.html", kept=filled))


def kept(view: Callable[..., Any] | None = None, *, console: bool = False) -> Any:
    """Keep the view's page (after the role check: put it below @customer, @staff, ...)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def keeping(*args: Any, **kwargs: Any) -> Any:
            key = _key(console) if request.method == "GET" else None
            if key is None:
                return view(*args, **kwargs)
            pages, lock = _pages()
            with lock:
                blocks = pages.get(key)
            if blocks is not None:
                return _shown(blocks)
            g.keeping = True
            try:
                response = make_response(view(*args, **kwargs))
            finally:
                g.keeping = False
            if response.status_code != 200 or response.mimetype != "text/html" or response.direct_passthrough:
                return response
            html = response.get_data(as_text=True)
            blocks = _split(html)
            if blocks is not None:
                token = generate_csrf()
                with lock:
                    pages[key] = {name: text.replace(token, _CSRF) for name, text in blocks.items()}
            response.set_data(_unmarked(html))
            return response

        return keeping

    return decorate(view) if view is not None else decorate
