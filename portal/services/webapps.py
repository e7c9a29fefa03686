"""Web apps (static or PHP, with checked PHP settings) and the websites that serve them."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Domain, Mount, Server, Status, SystemUser, WebApp, Website, website_domain
from portal.models.validators import shown
from portal.orchestration import certificates
from portal.orchestration.backends.nginx import PATH, server_names
from portal.security.audit import audit
from portal.security.scoping import Actor, get_scoped_or_404, scoped
from portal.services import ServiceError, record, to_delete
from portal.services.domains import refuse_unproven
from portal.services.limits import reserve
from portal.services.text import plain_text
from portal.services.tls import check_certificate, normalised_key
from portal.words import gettext

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
SITE_NAME_MAX = 64  # Website.name is a String(64)
SIZE = re.compile(r"^([1-9][0-9]{0,4})([MG])$")
LIMITS_MB = {"memory_limit": (16, 2048), "upload_max_filesize": (1, 2048), "post_max_size": (1, 2048)}
# What a PHP app gets for a setting left empty, as php_admin_value spells it (the form shows them).
PHP_DEFAULTS = {
    "memory_limit": "128M",
    "upload_max_filesize": "8M",
    "post_max_size": "8M",
    "max_execution_time": "30",
    "display_errors": "Off",
    "date.timezone": "UTC",
}


def _megabytes(field: str, value: Any) -> int:
    found = SIZE.match(value.strip()) if isinstance(value, str) else None
    if not found:
        raise ServiceError(gettext("Write a size like 128M or 1G."), field=field)
    size = int(found.group(1)) * (1024 if found.group(2) == "G" else 1)
    low, high = LIMITS_MB[field]
    if not low <= size <= high:
        raise ServiceError(gettext("Choose between %(low)dM and %(high)dM.", low=low, high=high), field=field)
    return size


# Names the zoneinfo folder holds that are no zone of the tz database: the host's own local time, the
# "-00" placeholder, the POSIX rules template and the folders of duplicates.
NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def php_timezones() -> dict[str, str]:
    """The tz database's zone names (links for old names included), by their lowercase spelling.

    Python's zoneinfo is the tz database itself, in this process; PHP's own list would need PHP
    here, and Debian's build lists files that are no zones (leapseconds, tzdata.zi, localtime).
    tests/integration/test_websites.py checks that PHP knows every name offered here.
    """
    zones = {z for z in available_timezones() if z not in NOT_ZONES and not z.startswith(("posix/", "right/"))}
    return {zone.lower(): zone for zone in zones | {"UTC"}}


def php_timezone(value: Any) -> str:
    zone = php_timezones().get(value.strip().lower()) if isinstance(value, str) else None
    if zone is None:
        raise ServiceError(
            gettext("Choose a timezone of the tz database, such as Europe/Berlin or UTC."), field="date_timezone"
        )
    return zone


def clean_options(options: dict[str, Any]) -> dict[str, str]:
    """Checked PHP settings, as php_admin_value will carry them."""
    for field, value in options.items():
        if isinstance(value, str):
            plain_text(value, field)
    memory = _megabytes("memory_limit", options.get("memory_limit") or PHP_DEFAULTS["memory_limit"])
    upload = _megabytes(
        "upload_max_filesize", options.get("upload_max_filesize") or PHP_DEFAULTS["upload_max_filesize"]
    )
    post = max(_megabytes("post_max_size", options.get("post_max_size") or PHP_DEFAULTS["post_max_size"]), upload)
    try:
        seconds = int(options.get("max_execution_time") or PHP_DEFAULTS["max_execution_time"])
    except (TypeError, ValueError):
        raise ServiceError(gettext("Write whole seconds."), field="max_execution_time") from None
    if not 1 <= seconds <= 3600:
        raise ServiceError(gettext("Choose between 1 and 3600 seconds."), field="max_execution_time")
    zone = php_timezone(options.get("date_timezone") or PHP_DEFAULTS["date.timezone"])
    return {
        "memory_limit": f"{memory}M",
        "upload_max_filesize": f"{upload}M",
        "post_max_size": f"{post}M",
        "max_execution_time": str(seconds),
        "display_errors": "On" if options.get("display_errors") else "Off",
        "date.timezone": zone,
    }


def php_versions() -> list[str]:
    """What the servers running PHP-FPM offer (server setting php_versions)."""
    versions: set[str] = set()
    for server in db.session.scalars(sa.select(Server)):
        versions.update(server.setting("php_versions", ["8.2"]) if server.routes else [])
    return sorted(versions) or ["8.2"]


def create_web_app(
    actor: Actor,
    *,
    name: str,
    system_user_id: int,
    kind: str,
    php_version: str = "",
    options: dict[str, Any] | None = None,
) -> WebApp:
    name = plain_text(name, "name").strip().lower()
    if not APP_NAME.match(name):
        raise ServiceError(
            gettext("Use letters a-z, digits and hyphens, starting with a letter (at most 32)."), field="name"
        )
    user = db.session.scalars(scoped(SystemUser, actor).where(SystemUser.id == system_user_id)).first()
    if user is None or user.status == Status.DELETING:
        raise ServiceError(gettext("Choose one of your own system users."), field="system_user_id")
    if kind not in ("static", "php"):
        raise ServiceError(gettext("Choose static or PHP."), field="kind")
    if kind == "php" and php_version not in php_versions():
        raise ServiceError(gettext("Choose a PHP version the server offers."), field="php_version")
    if db.session.scalar(sa.select(sa.func.count()).where(WebApp.system_user_id == user.id, WebApp.name == name)):
        raise ServiceError(
            gettext("%(user)s already has an app called %(name)s.", user=user.name, name=name), field="name"
        )
    reserve(user.account_id, "web_apps")
    app = WebApp(
        account_id=user.account_id,
        system_user=user,
        name=name,
        kind=kind,
        php_version=php_version if kind == "php" else "",
        options=clean_options(options or {}) if kind == "php" else {},
        status=Status.PENDING,
    )
    db.session.add(app)
    db.session.flush()
    record(app, "save", actor)
    return app


def update_web_app(actor: Actor, app_id: int, *, options: dict[str, Any]) -> WebApp:
    app = get_scoped_or_404(WebApp, app_id, actor)
    if app.kind == "php":
        app.options = clean_options(options)
    app.status, app.last_error = Status.PENDING, None
    record(app, "save", actor)
    return app


def delete_web_app(actor: Actor, app_id: int) -> WebApp:
    app = get_scoped_or_404(WebApp, app_id, actor)
    sites = db.session.scalars(sa.select(Website).join(Mount).where(Mount.web_app_id == app.id)).all()
    if sites:
        raise ServiceError(
            gettext(
                "%(name)s is served by %(sites)s: remove it there first.",
                name=app.name,
                sites=", ".join(s.name for s in sites),
            )
        )
    return to_delete(app, actor)


def _site_name(name: str) -> str:
    name = plain_text(name, "name").strip()
    if len(name) > SITE_NAME_MAX:
        raise ServiceError(gettext("At most %(max)d characters.", max=SITE_NAME_MAX), field="name")
    if not name or not name.isprintable():
        raise ServiceError(gettext("Give it a short name."), field="name")
    return name


def _domains(actor: Actor, domain_ids: list[int], website: Website | None) -> list[Domain]:
    """The actor's domains, of one account (the website's), that no other website serves."""
    wanted = set(domain_ids)
    if not wanted:
        raise ServiceError(gettext("Choose at least one domain."), field="domain_ids")
    domains = db.session.scalars(scoped(Domain, actor).where(Domain.id.in_(wanted))).all()
    if len(domains) != len(wanted):
        raise ServiceError(gettext("Choose only your own domains."), field="domain_ids")
    for domain in domains:
        refuse_unproven(domain, field="domain_ids")
    taken = db.session.scalars(
        sa.select(Website)
        .join(website_domain)
        .where(website_domain.c.domain_id.in_(wanted), Website.id != (website.id if website else 0))
    ).first()
    if taken is not None:
        raise ServiceError(
            gettext("One of these domains is already served by %(name)s.", name=taken.name), field="domain_ids"
        )
    account_id = website.account_id if website else domains[0].account_id
    if any(d.account_id != account_id for d in domains):
        raise ServiceError(gettext("A website's domains belong to one account."), field="domain_ids")
    return list(domains)


def _mounts(actor: Actor, mounts: list[tuple[str, int]], account_id: int) -> list[Mount]:
    result, paths = [], set()
    for path, app_id in mounts:
        path = plain_text(path, "mounts").strip().rstrip("/") or "/"
        if not PATH.match(path) or any(part in (".", "..") for part in path.split("/")):
            raise ServiceError(
                gettext("%(path)s is not a path like / or /blog.", path=repr(shown(path))), field="mounts"
            )
        if path in paths:
            raise ServiceError(gettext("Two apps on %(path)s.", path=shown(path)), field="mounts")
        app = db.session.scalars(scoped(WebApp, actor).where(WebApp.id == app_id)).first()
        if app is None or app.account_id != account_id:
            raise ServiceError(gettext("Choose only your own web apps."), field="mounts")
        paths.add(path)
        result.append(Mount(path=path, web_app=app))
    return result


def _tls(website: Website, https: bool, certificate: str, key: str) -> str | None:
    """Check and set HTTPS; returns the key to deliver, if one was given."""
    if not https:
        website.https, website.certificate = False, ""
        return None
    certificate, key = plain_text(certificate, "certificate", multiline=True), plain_text(key, "key", multiline=True)
    if not key.strip():
        if website.https and website.certificate and not certificate.strip():
            return None  # unchanged: the key is already on the server
        raise ServiceError(
            gettext("Give the private key with the certificate; Hostdeck does not keep keys."), field="key"
        )
    website.certificate = check_certificate(certificate, key, server_names(website))
    website.https = True
    return normalised_key(key)


TLS_MODES = ("auto", "uploaded", "none")


def _tls_mode(website: Website, tls_mode: str | None, https: bool, redirect_https: bool, hsts: bool) -> bool:
    """Set how the site does HTTPS; True when it takes an uploaded certificate."""
    mode = tls_mode or ("uploaded" if https else "auto")
    if mode not in TLS_MODES:
        raise ServiceError(gettext("Choose how the website gets its certificate."), field="tls_mode")
    website.tls_mode = mode
    # Redirecting to HTTPS and HSTS only mean something with HTTPS; nginx ignores them without it.
    website.redirect_https, website.hsts = bool(redirect_https) and mode != "none", bool(hsts) and mode != "none"
    return mode == "uploaded"


def create_website(
    actor: Actor,
    *,
    name: str,
    domain_ids: list[int],
    with_www: bool,
    mounts: list[tuple[str, int]],
    wildcard: bool = False,
    https: bool = False,
    certificate: str = "",
    key: str = "",
    tls_mode: str | None = None,
    redirect_https: bool = False,
    hsts: bool = False,
) -> Website:
    name = _site_name(name)
    domains = _domains(actor, domain_ids, None)
    account_id = domains[0].account_id
    website = Website(
        account_id=account_id,
        name=name,
        with_www=with_www,
        wildcard=wildcard,
        domains=domains,
        mounts=_mounts(actor, mounts, account_id),
        status=Status.PENDING,
    )
    uploaded = _tls_mode(website, tls_mode, https, redirect_https, hsts)
    key_pem = _tls(website, uploaded, certificate, key)
    db.session.add(website)
    db.session.flush()
    record(website, "save", actor, key_pem)
    certificates.sync(website)
    return website


def update_website(
    actor: Actor,
    website_id: int,
    *,
    name: str,
    domain_ids: list[int],
    with_www: bool,
    mounts: list[tuple[str, int]],
    wildcard: bool = False,
    https: bool = False,
    certificate: str = "",
    key: str = "",
    tls_mode: str | None = None,
    redirect_https: bool = False,
    hsts: bool = False,
) -> Website:
    website = get_scoped_or_404(Website, website_id, actor)
    if website.status == Status.DELETING:
        raise ServiceError(gettext("This website is being deleted."))
    name = _site_name(name)
    domains = _domains(actor, domain_ids, website)
    new_mounts = _mounts(actor, mounts, website.account_id)
    website.mounts.clear()
    db.session.flush()  # the old mounts go before new ones may reuse their paths
    website.name, website.with_www, website.domains, website.mounts = name, with_www, domains, new_mounts
    website.wildcard = wildcard
    uploaded = _tls_mode(website, tls_mode, https, redirect_https, hsts)
    key_pem = _tls(website, uploaded, certificate, key)
    website.status, website.last_error = Status.PENDING, None
    record(website, "save", actor, key_pem)
    certificates.sync(website)
    return website


def retry_certificate(actor: Actor, website_id: int) -> Website:
    """Order the automatic certificate again after Hostdeck stopped trying."""
    website = get_scoped_or_404(Website, website_id, actor)
    cert = certificates.of(website)
    if cert is None or website.status == Status.DELETING:
        raise ServiceError(gettext("This website has no automatic certificate."))
    certificates.retry(cert)
    audit(actor, "certificate.retry", obj=website)
    return website


def delete_website(actor: Actor, website_id: int) -> Website:
    website = get_scoped_or_404(Website, website_id, actor)
    certificates.drop(website)
    return to_delete(website, actor)
