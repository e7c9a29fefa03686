"""Hostdeck: a self-service hosting portal.

create_app() reads as its table of contents. The packages are layers that import one way only
(docs/architecture.md): models <- security <- orchestration <- services <- blueprints / cli.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

import portal.logs  # first of the portal's modules, before anything imports alembic (logs.QUIET)
from config import load_config
from portal import api, blueprints, cli, i18n, templating
from portal.extensions import bootstrap, compress, csrf, db, migrate
from portal.models import revisions, usage
from portal.orchestration import dispatch, dkim_flow
from portal.security import headers, login, rates, throttle
from portal.services import contacts


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    configure(app, test_config)
    portal.logs.init_app(app)  # first: every later hook's log lines carry the request id
    register_extensions(app)
    usage.init_app(app)  # the usage counters follow every flush
    revisions.init_app(app)  # and kept pages every commit
    headers.init_app(app)
    throttle.init_app(app)
    rates.init_app(app)  # the API's request rates, shared through the throttle's storage
    login.init_app(app)
    dispatch.init_app(app)  # jobs are enqueued after each commit
    dkim_flow.init_app(app)  # a DKIM key the mail server made is published before the commit
    contacts.init_app(app)  # an emergency contact's confirmation link is mailed after the commit
    blueprints.init_app(app)
    api.init_app(app)  # after the pages: it documents the id converter they install
    i18n.init_app(app)
    templating.init_app(app)
    cli.init_app(app)
    return app


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_mapping(load_config())
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    # Never print bound values (a verifier, say) in database error messages.
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("hide_parameters", True)
    if app.config["DATABASE_URL"].startswith("sqlite"):
        os.makedirs(app.instance_path, exist_ok=True)
        # Let a web request and an in-process job wait for each other's writes.
        options.setdefault("connect_args", {"timeout": 30})
    if app.config["PROXY_HOPS"]:
        # Behind N proxies, trust N X-Forwarded-* hops, so that throttling sees client IPs.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    portal.logs.configure(app)


def register_extensions(app: Flask) -> None:
    db.init_app(app)

    @app.before_request
    def reads_without_a_transaction() -> None:
        # A GET only reads (and at most notes when the session was last seen, committed at once):
        # in autocommit it spends no round trips on BEGIN and ROLLBACK.
        # The health checks open what they check themselves (/healthz: nothing at all).
        if (
            request.method in ("GET", "HEAD")
            and request.endpoint not in (None, "static", "bootstrap.static")
            and request.blueprint != "health"
        ):
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    migrate.init_app(app, db, render_as_batch=True, directory=os.path.join(app.root_path, "..", "migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    compress.init_app(app)
