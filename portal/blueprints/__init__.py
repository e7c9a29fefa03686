"""The HTML pages: one package per feature, each a blueprint. Views stay thin: they parse a form,
call a service and show the outcome (blueprints/common.py)."""

from __future__ import annotations

from flask import Flask

from portal.blueprints import (
    account,
    activity,
    addresses,
    auth,
    common,
    dashboard,
    databases,
    dns,
    domains,
    events,
    frame,
    health,
    impersonation,
    kept,
    mailboxes,
    reseller,
    retry,
    staff,
    system_users,
    webapps,
    websites,
)

FEATURES = (
    health,
    auth,
    account,
    impersonation,
    activity,
    dashboard,
    reseller,
    domains,
    dns,
    mailboxes,
    addresses,
    system_users,
    webapps,
    websites,
    databases,
    retry,
    staff,
)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = common.IdConverter  # before any route is added: ids in every route
    for feature in FEATURES:
        app.register_blueprint(feature.bp)
    app.add_template_global(events.describe_event)
    app.add_template_global(events.event_actor)
    app.add_template_global(kept.mark)
    frame.init_app(app)
