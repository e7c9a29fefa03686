"""Writes: 202 Accepted with the object and where to poll it, safe to repeat.

- `Idempotency-Key` on a POST: the first answer is kept (per token and key, `API_IDEMPOTENCY_HOURS`) and
  a retry gets it again instead of a second object. The key's row is inserted before the service runs,
  so a concurrent retry waits on its unique index and then replays the answer; the same key with
  another request is refused (422).
- `If-Match` on a PATCH or DELETE: the object's ETag now must be the one sent, else 412 and nothing changes.
  The ETag is the digest of what GET shows minus the live fields, so a status change alone never makes a
  client's change fail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, current_app, json, request
from marshmallow import Schema
from sqlalchemy.exc import IntegrityError

from portal.api.access import api_actor
from portal.api.problems import problem
from portal.extensions import db
from portal.models import IdempotentAnswer, utcnow
from portal.words import gettext

LIVE = ("status", "error", "updated_at")  # change without anyone's edit


def etag(body: dict[str, Any]) -> str:
    stable = {k: v for k, v in body.items() if k not in LIVE}
    return '"' + hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:32] + '"'


def shown(schema: Schema, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = schema.dump(obj)
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["ETag"] = etag(body)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def check_match(schema: Schema, obj: Any) -> None:
    """412 (a problem document, by the blueprint's handler) when If-Match names another state of the
    object than the current one: nothing is changed."""
    sent = request.headers.get("If-Match")
    if sent is None or sent.strip() == "*":
        return
    now = etag(schema.dump(obj))
    if now not in [tag.strip() for tag in sent.split(",")]:
        abort(412)


def _fingerprint() -> str:
    return hashlib.sha256(b"\0".join([request.method.encode(), request.path.encode(), request.get_data()])).hexdigest()


def _replay(row: IdempotentAnswer) -> Response:
    if row.fingerprint != _fingerprint():
        return problem(
            422, gettext("This Idempotency-Key was used for another request; send a new key for a new request.")
        )
    response = Response(json.dumps(row.body), status=row.status, mimetype="application/json")
    if row.location:
        response.headers["Location"] = row.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def accepted(schema: Schema, change: Callable[[], Any], location: Callable[[Any], str]) -> Response:
    """Run a write, commit it, and answer 202 with the object and its Location; with an Idempotency-Key,
    at most once per key."""
    actor = api_actor()
    key = request.headers.get("Idempotency-Key")
    kept: IdempotentAnswer | None = None
    if key is not None and request.method == "POST" and actor.token is not None:
        key = key.strip()
        if not key or len(key) > 255 or not key.isprintable():
            return problem(400, gettext("An Idempotency-Key is 1 to 255 printable characters."))
        found = _kept(actor.token.id, key)
        if found is not None:
            return _replay(found)
        _forget_old(actor.token.id)
        kept = IdempotentAnswer(token_id=actor.token.id, key=key, fingerprint=_fingerprint(), created_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(kept)
        except IntegrityError:
            # Another request with this key got there first: its answer, once it committed.
            db.session.rollback()
            found = _kept(actor.token.id, key)
            return _replay(found) if found is not None else problem(409)
    obj = change()
    db.session.flush()
    body: dict[str, Any] = schema.dump(obj)
    where = location(obj)
    if kept is not None:
        kept.status, kept.body, kept.location = 202, body, where
    db.session.commit()
    response = Response(json.dumps(body), status=202, mimetype="application/json")
    response.headers["Location"] = where
    response.headers["ETag"] = etag(body)
    return response


def _since() -> Any:
    return utcnow() - timedelta(hours=current_app.config["API_IDEMPOTENCY_HOURS"])


def _forget_old(token_id: int) -> None:
    """The token's answers past their keeping time go (a key may then be used afresh)."""
    db.session.execute(
        sa.delete(IdempotentAnswer).where(
            IdempotentAnswer.token_id == token_id, IdempotentAnswer.created_at <= _since()
        )
    )


def _kept(token_id: int, key: str) -> IdempotentAnswer | None:
    since = _since()
    return db.session.scalars(
        sa.select(IdempotentAnswer).where(
            IdempotentAnswer.token_id == token_id, IdempotentAnswer.key == key, IdempotentAnswer.created_at > since
        )
    ).first()
