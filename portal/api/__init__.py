"""The REST API at /api/v1: another face on the same services, scoping and validators as the pages.

Each area is a flask-smorest blueprint of its own module; `resource.py` makes a kind's routes from one
declaration, `access.py` decides who the request is and what it may do, `writes.py` answers writes
(202, Idempotency-Key, If-Match), `problems.py` every error. docs/api.md is the guide.
"""

from __future__ import annotations

from flask import Flask

from portal.api import (
    accounts,
    activity,
    certificates,
    databases,
    dns,
    domains,
    mail,
    mail_addresses,
    meta,
    spec,
    web,
)

AREAS = (accounts, domains, dns, mail, mail_addresses, web, certificates, databases, activity)


def init_app(app: Flask) -> None:
    spec.configure(app)
    api = spec.HostdeckApi(app, spec_kwargs=spec.SECURITY)
    api.register_converter(
        app.url_map.converters["int"], lambda converter: {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    )
    for area in AREAS:
        api.register_blueprint(area.blp)
    app.register_blueprint(meta.blp)  # undocumented: the document itself and its page
    app.before_request(meta.unrouted)
    app.extensions["hostdeck.api"] = api
