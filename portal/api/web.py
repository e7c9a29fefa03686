"""System users (SFTP), web apps and the websites that serve them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from marshmallow import Schema, fields, validate

from portal.api.resource import Resource, api_blueprint, register
from portal.api.schemas import Id, Provisioned, QueryId, Text
from portal.models import SystemUser, WebApp, Website
from portal.security.scoping import Actor
from portal.services import ServiceError
from portal.services.system_users import (
    MAX_KEYS,
    change_system_user_password,
    create_system_user,
    delete_system_user,
    update_system_user,
)
from portal.services.webapps import (
    PHP_DEFAULTS,
    SITE_NAME_MAX,
    TLS_MODES,
    create_web_app,
    create_website,
    delete_web_app,
    delete_website,
    update_web_app,
    update_website,
)

blp = api_blueprint("web", "System users (SFTP), web apps and websites (scopes web:read, web:write).")

PHP_OPTIONS = ("memory_limit", "upload_max_filesize", "post_max_size", "max_execution_time", "display_errors")


@contextmanager
def fields_named(names: dict[str, str]) -> Iterator[None]:
    """A service's refusal at the field as the API names it (`memory_limit` -> `options.memory_limit`)."""
    try:
        yield
    except ServiceError as refused:
        if refused.field in names:
            refused.field = names[refused.field]
        raise


# System users


def _key_lines(user: SystemUser) -> list[str]:
    return [line for line in (user.ssh_keys or "").splitlines() if line.strip()]


class SystemUserOut(Provisioned):
    name = fields.String(metadata={"description": "the unix name, account prefix included"})
    shell = fields.String(metadata={"enum": ["sftp", "bash"]})
    ssh_keys = fields.Function(_key_lines, metadata={"description": "authorized_keys lines"})


class SystemUserCreate(Schema):
    name = Text(required=True, validate=validate.Length(1, 32), metadata={"description": "the account prefix is added"})
    password = fields.String(required=True, load_only=True, validate=validate.Length(1, 1024))
    shell = Text(load_default="sftp", metadata={"enum": ["sftp", "bash"]})
    ssh_keys = fields.List(
        Text(validate=validate.Length(1, 16384)),
        load_default=list,
        validate=validate.Length(max=MAX_KEYS),
        metadata={"description": "authorized_keys lines, one key each (options allowed, comments dropped)"},
    )


class SystemUserChange(Schema):
    password = fields.String(load_only=True, validate=validate.Length(1, 1024))
    shell = Text(metadata={"enum": ["sftp", "bash"]})
    ssh_keys = fields.List(
        Text(validate=validate.Length(1, 16384)),
        validate=validate.Length(max=MAX_KEYS),
        metadata={"description": "authorized_keys lines: the whole list, replacing the keys"},
    )


def _create_user(actor: Actor, data: dict[str, Any]) -> SystemUser:
    return create_system_user(
        actor,
        name=data["name"],
        password=data["password"],
        shell=data["shell"],
        ssh_keys="\n".join(data["ssh_keys"]),
    )


def _change_user(actor: Actor, user: SystemUser, data: dict[str, Any]) -> SystemUser:
    if "shell" in data or "ssh_keys" in data:
        keys = data["ssh_keys"] if "ssh_keys" in data else _key_lines(user)
        update_system_user(actor, user.id, shell=data.get("shell", user.shell), ssh_keys="\n".join(keys))
    if "password" in data:
        change_system_user_password(actor, user.id, data["password"])
    return user


register(
    blp,
    Resource(
        "system_users",
        SystemUser,
        "web",
        SystemUserOut,
        create=SystemUserCreate,
        created=_create_user,
        update=SystemUserChange,
        updated=_change_user,
        deleted=lambda actor, user: delete_system_user(actor, user.id),
        id_name="system_user_id",
    ),
)


# Web apps


class PhpOptionsIn(Schema):
    """PHP settings; each left out keeps its value (on create: its default)."""

    memory_limit = Text(validate=validate.Length(max=10), metadata={"example": PHP_DEFAULTS["memory_limit"]})
    upload_max_filesize = Text(
        validate=validate.Length(max=10), metadata={"example": PHP_DEFAULTS["upload_max_filesize"]}
    )
    post_max_size = Text(validate=validate.Length(max=10), metadata={"example": PHP_DEFAULTS["post_max_size"]})
    max_execution_time = fields.Integer(strict=True, metadata={"example": 30})
    display_errors = fields.Boolean()
    date_timezone = Text(validate=validate.Length(max=64), metadata={"example": "Europe/Berlin"})


OPTION_FIELDS = {name: f"options.{name}" for name in PhpOptionsIn._declared_fields}


def _options_shown(app: WebApp) -> dict[str, Any]:
    """The stored settings (as php_admin_value spells them) as the API takes them."""
    stored = app.options or {}
    if not stored:
        return {}
    shown: dict[str, Any] = {name: stored.get(name, PHP_DEFAULTS[name]) for name in PHP_OPTIONS}
    shown["max_execution_time"] = int(shown["max_execution_time"])
    shown["display_errors"] = shown["display_errors"] == "On"
    shown["date_timezone"] = stored.get("date.timezone", PHP_DEFAULTS["date.timezone"])
    return shown


class WebAppOut(Provisioned):
    system_user_id = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"enum": ["static", "php"]})
    php_version = fields.String(metadata={"description": "empty for a static app"})
    options = fields.Function(_options_shown, metadata={"description": "PHP settings; empty for a static app"})


class WebAppCreate(Schema):
    name = Text(required=True, validate=validate.Length(1, 32))
    system_user_id = Id(required=True)
    kind = Text(load_default="php", metadata={"enum": ["static", "php"]})
    php_version = Text(load_default="", validate=validate.Length(max=10))
    options = fields.Nested(PhpOptionsIn, load_default=dict)


class WebAppChange(Schema):
    options = fields.Nested(PhpOptionsIn, required=True)


def _create_app(actor: Actor, data: dict[str, Any]) -> WebApp:
    with fields_named(OPTION_FIELDS):
        return create_web_app(
            actor,
            name=data["name"],
            system_user_id=data["system_user_id"],
            kind=data["kind"],
            php_version=data["php_version"],
            options=data["options"],
        )


def _change_app(actor: Actor, app: WebApp, data: dict[str, Any]) -> WebApp:
    with fields_named(OPTION_FIELDS):
        return update_web_app(actor, app.id, options={**_options_shown(app), **data["options"]})


register(
    blp,
    Resource(
        "web_apps",
        WebApp,
        "web",
        WebAppOut,
        create=WebAppCreate,
        created=_create_app,
        update=WebAppChange,
        updated=_change_app,
        deleted=lambda actor, app: delete_web_app(actor, app.id),
        filters=type("WebAppFilters", (Schema,), {"system_user_id": QueryId(load_default=None)}),
        narrow=lambda query, args: (
            query.where(WebApp.system_user_id == args["system_user_id"]) if args["system_user_id"] else query
        ),
        id_name="web_app_id",
    ),
)


# Websites


class WebsiteMount(Schema):
    path = Text(required=True, validate=validate.Length(1, 200), metadata={"example": "/blog"})
    web_app_id = Id(required=True)


class WebsiteOut(Provisioned):
    name = fields.String()
    domain_ids = fields.Function(lambda site: [d.id for d in site.domains])
    domains = fields.Function(
        lambda site: [d.display_name for d in site.domains], metadata={"description": "as people read them"}
    )
    with_www = fields.Boolean()
    wildcard = fields.Boolean()
    mounts = fields.List(fields.Nested(WebsiteMount))
    tls_mode = fields.String(metadata={"enum": list(TLS_MODES)})
    certificate = fields.String(metadata={"description": "the uploaded certificate (public), PEM"})
    redirect_https = fields.Boolean()
    hsts = fields.Boolean()


class WebsiteCreate(Schema):
    name = Text(required=True, validate=validate.Length(1, SITE_NAME_MAX))
    domain_ids = fields.List(Id(), required=True, validate=validate.Length(max=100))
    with_www = fields.Boolean(load_default=True)
    wildcard = fields.Boolean(load_default=False)
    mounts = fields.List(fields.Nested(WebsiteMount), load_default=list, validate=validate.Length(max=50))
    tls_mode = Text(load_default="auto", metadata={"enum": list(TLS_MODES)})
    certificate = Text(multiline=True, load_default="", validate=validate.Length(max=65536))
    key = fields.String(
        load_only=True,
        load_default="",
        validate=validate.Length(max=65536),
        metadata={"description": "the private key of an uploaded certificate, PEM; sent once to the server"},
    )
    redirect_https = fields.Boolean(load_default=False)
    hsts = fields.Boolean(load_default=False)


class WebsiteChange(Schema):
    name = Text(validate=validate.Length(1, SITE_NAME_MAX))
    domain_ids = fields.List(Id(), validate=validate.Length(max=100))
    with_www = fields.Boolean()
    wildcard = fields.Boolean()
    mounts = fields.List(fields.Nested(WebsiteMount), validate=validate.Length(max=50))
    tls_mode = Text(metadata={"enum": list(TLS_MODES)})
    certificate = Text(multiline=True, validate=validate.Length(max=65536))
    key = fields.String(
        load_only=True,
        validate=validate.Length(max=65536),
        metadata={"description": "left out with the certificate: the key on the server stays"},
    )
    redirect_https = fields.Boolean()
    hsts = fields.Boolean()


def _site(data: dict[str, Any]) -> dict[str, Any]:
    """The fields as create_website() and update_website() take them."""
    return {**data, "mounts": [(m["path"], m["web_app_id"]) for m in data["mounts"]]}


def _create_site(actor: Actor, data: dict[str, Any]) -> Website:
    return create_website(actor, **_site(data))


def _change_site(actor: Actor, site: Website, data: dict[str, Any]) -> Website:
    now = {
        "name": site.name,
        "domain_ids": [d.id for d in site.domains],
        "with_www": site.with_www,
        "wildcard": site.wildcard,
        "mounts": [{"path": m.path, "web_app_id": m.web_app_id} for m in site.mounts],
        "tls_mode": site.tls_mode,
        "redirect_https": site.redirect_https,
        "hsts": site.hsts,
        "certificate": "",  # with no key either: the uploaded certificate and its key stay
        "key": "",
    }
    return update_website(actor, site.id, **_site({**now, **data}))


register(
    blp,
    Resource(
        "websites",
        Website,
        "web",
        WebsiteOut,
        create=WebsiteCreate,
        created=_create_site,
        update=WebsiteChange,
        updated=_change_site,
        deleted=lambda actor, site: delete_website(actor, site.id),
        id_name="website_id",
    ),
)
