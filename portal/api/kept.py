"""Kept lists: a list's answer, kept until the account it shows changes (models/revisions.py), as the
pages' lists are (blueprints/kept.py, which a face of its own may not import). The key holds the
token's owner, the account acted in, the token's sub-account list, the language (failures are in
words) and the whole path with its query, so nobody is ever answered from another's list.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache
from flask import current_app, request

from portal.api.access import api_actor
from portal.models import revisions
from portal.words import locale_now

KEEP_SECONDS = 60  # at most this late, for a change whose revision could not be moved

Answer = tuple[str, dict[str, str]]  # the JSON body and its headers


def _kept() -> tuple[TTLCache[Any, Answer], threading.Lock]:
    found = current_app.extensions.get("hostdeck.api_kept")
    if found is None:
        size = current_app.config["KEPT_PAGES_MB"] << 20
        answers: TTLCache[Any, Answer] = TTLCache(maxsize=size, ttl=KEEP_SECONDS, getsizeof=lambda a: len(a[0]) + 200)
        found = current_app.extensions["hostdeck.api_kept"] = (answers, threading.Lock())
    kept: tuple[TTLCache[Any, Answer], threading.Lock] = found
    return kept


def _key() -> tuple[Any, ...] | None:
    actor = api_actor()
    if actor.scope is None:
        return None
    names = [revisions.SHARED, revisions.account(actor.scope.id)]
    numbers = revisions.read(names)
    if numbers is None:
        return None
    kept_to = tuple(actor.token.account_ids or ()) if actor.token is not None else ()
    who = (actor.user.id, actor.acting.id if actor.acting else None, kept_to, str(locale_now()))
    return (request.endpoint, request.host, request.full_path, tuple(names), numbers, who)  # Link is absolute


def kept(answer: Callable[[], Answer]) -> Answer:
    """The list's answer: kept, or made now and kept."""
    key = _key()
    if key is None:
        return answer()
    answers, lock = _kept()
    with lock:
        found = answers.get(key)
    if found is not None:
        return found
    made = answer()
    with lock:
        answers[key] = made
    return made
