"""Cursor pages: rows in id order after the cursor, and a `Link: <…>; rel="next"` while more follow.

An id cursor stays right while rows come and go between pages (an offset would skip or repeat), and
the next page reads from the index where the last one stopped."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import request, url_for

from portal.extensions import db


def page(query: sa.Select[Any], model: Any, args: dict[str, Any]) -> tuple[list[Any], dict[str, str]]:
    """The rows of one page and the headers that lead to the next."""
    limit = args["limit"]
    if args.get("cursor"):
        query = query.where(model.id > int(args["cursor"]))
    rows = list(db.session.scalars(query.order_by(model.id).limit(limit + 1)))
    headers: dict[str, str] = {}
    if len(rows) > limit:
        rows = rows[:limit]
        values = {**(request.view_args or {}), **request.args.to_dict(), "cursor": rows[-1].id, "limit": limit}
        assert request.endpoint is not None  # noqa: S101 (a routed request)
        headers["Link"] = f'<{url_for(request.endpoint, _external=True, **values)}>; rel="next"'
    return rows, headers
