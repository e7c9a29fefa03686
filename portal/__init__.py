"""Hostdeck: a self-service hosting portal."""

from __future__ import annotations

import logging
import os

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import load_config


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    configure(app, test_config)
    register_extensions(app)
    register_security(app)
    register_orchestration(app)
    register_blueprints(app)
    register_templates(app)
    register_cli(app)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
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
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_extensions(app: Flask) -> None:
    from portal.extensions import bootstrap, csrf, db, login_manager, migrate
    from portal.services import usage  # noqa: F401 (its flush listeners keep the usage counters)

    db.init_app(app)

    @app.before_request
    def reads_without_a_transaction():
        # A GET only reads (and at most notes when the session was last seen, committed at once):
        # in autocommit it spends no round trips on BEGIN and ROLLBACK.
        if request.method in ("GET", "HEAD") and request.endpoint not in (None, "static", "bootstrap.static"):
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    migrate.init_app(app, db, render_as_batch=True, directory=os.path.join(app.root_path, "..", "migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # "strong" would log people out whenever their IP changes (mobile networks).
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        from portal.security.sessions import load_user

        # The server-side session row decides: logged out, expired, suspended or impersonating.
        return load_user(user_id)


def register_security(app: Flask) -> None:
    from portal.security import headers, throttle

    headers.init_app(app)
    throttle.init_app(app)


def register_orchestration(app: Flask) -> None:
    from portal.orchestration import dispatch

    dispatch.init_app(app)


def register_blueprints(app: Flask) -> None:
    from portal.blueprints.account import bp as account
    from portal.blueprints.activity import bp as activity
    from portal.blueprints.addresses import bp as addresses
    from portal.blueprints.auth import bp as auth
    from portal.blueprints.dashboard import bp as dashboard
    from portal.blueprints.databases import bp as databases
    from portal.blueprints.domains import bp as domains
    from portal.blueprints.impersonation import bp as impersonation
    from portal.blueprints.mailboxes import bp as mailboxes
    from portal.blueprints.reseller import bp as reseller
    from portal.blueprints.staff import bp as staff
    from portal.blueprints.system_users import bp as system_users
    from portal.blueprints.webapps import bp as webapps
    from portal.blueprints.websites import bp as websites

    for bp in (
        auth,
        account,
        impersonation,
        activity,
        dashboard,
        reseller,
        domains,
        mailboxes,
        addresses,
        system_users,
        webapps,
        websites,
        databases,
        staff,
    ):
        app.register_blueprint(bp)


def register_templates(app: Flask) -> None:
    from portal import templating

    templating.init_app(app)


def register_cli(app: Flask) -> None:
    from portal.cli import commands

    for command in commands:
        app.cli.add_command(command)
