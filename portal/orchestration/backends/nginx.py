"""nginx: one server block per website; `nginx -t` before every reload, the old files back if it fails.

Every value that reaches a block is checked against a strict pattern first: nginx
has no quoting we could trust with user input, so unsafe input never gets there.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Certificate, Server, Website
from portal.models.validators import domain_to_ascii
from portal.orchestration.backends.base import Backend
from portal.orchestration.backends.phpfpm import app_dir, pool_name, socket_path
from portal.orchestration.backends.staged import STAGE, checked, remove_file, write_file
from portal.orchestration.script import Script, UnsafeValue, q

SAFE = re.compile(r"^[A-Za-z0-9._/:@-]+$")
PATH = re.compile(r"^/(?:[a-z0-9._-]+(?:/[a-z0-9._-]+)*)?$")
# The CGI variables PHP reads, in the block itself: an include of fastcgi_params would be looked
# up beside nginx_config, where an operator's install need not have one. (They must sit in the
# location: one fastcgi_param there and nginx inherits none from outside it.)
FASTCGI = (
    ("QUERY_STRING", "$query_string"),
    ("REQUEST_METHOD", "$request_method"),
    ("CONTENT_TYPE", "$content_type"),
    ("CONTENT_LENGTH", "$content_length"),
    ("SCRIPT_NAME", "$fastcgi_script_name"),
    ("SCRIPT_FILENAME", "$request_filename"),
    ("REQUEST_URI", "$request_uri"),
    ("DOCUMENT_URI", "$document_uri"),
    ("DOCUMENT_ROOT", "$document_root"),
    ("SERVER_PROTOCOL", "$server_protocol"),
    ("REQUEST_SCHEME", "$scheme"),
    ("HTTPS", "$https if_not_empty"),
    ("GATEWAY_INTERFACE", "CGI/1.1"),
    ("SERVER_SOFTWARE", "nginx"),
    ("REMOTE_ADDR", "$remote_addr"),
    ("REMOTE_PORT", "$remote_port"),
    ("REMOTE_USER", "$remote_user"),
    ("SERVER_ADDR", "$server_addr"),
    ("SERVER_PORT", "$server_port"),
    ("SERVER_NAME", "$server_name"),
    ("REDIRECT_STATUS", "200"),
)
PHP = """\
        location ~ \\.php$ {{
            try_files $uri =404;
{params}
            fastcgi_pass unix:{socket};
        }}
"""
PARAMS = "\n".join(f"            fastcgi_param {name} {value};" for name, value in FASTCGI)
# Each site's own access log, read by the usage rounds (orchestration/metering/web.py). The first
# fields are nginx's own numbers (epoch seconds, bytes sent, status): nothing a client sends can come
# before them, and nginx escapes quotes and control characters in what follows.
USAGE_FORMAT = "hostdeck_usage"
USAGE_FORMAT_FILE = "hostdeck-00-usage-format.conf"  # included before the sites that use it
USAGE_FORMAT_CONF = (
    "# Written by Hostdeck: the access log format of its sites (their usage is read from it).\n"
    f"log_format {USAGE_FORMAT} '$msec $bytes_sent $status $remote_addr \"$request\"';\n"
)
# What nginx prints when all is well (staged.said): -t's two lines and the reload's notice. The reload
# parses the config again and repeats -t's warnings: they were said once already.
CHECK_NOTICES = r"\[(notice|info)\]|^nginx: (the )?configuration file .* (syntax is ok|test is successful)$"
RELOAD_NOTICES = r"\[(notice|info|warn)\]"


def _safe(value: str) -> str:
    if not SAFE.match(value or "") or ".." in value:
        raise UnsafeValue(f"{value!r} cannot go into an nginx config")
    return value


def _domain(name: str) -> str:
    """Only a name the domain validator itself would produce."""
    try:
        if domain_to_ascii(name) == name:
            return name
    except ValueError:
        pass
    raise UnsafeValue(f"{name!r} is not a domain name")


def _path(path: str) -> str:
    if not PATH.match(path or "") or any(part in (".", "..") for part in path.split("/")):
        raise UnsafeValue(f"{path!r} is not a mount path")
    return path


def server_names(website: Website) -> list[str]:
    names = []
    for domain in website.domains:
        names.append(domain.name)
        if website.with_www:
            names.append("www." + domain.name)
        if website.wildcard:
            names.append("*." + domain.name)
    return names


def tls_files(server: Server, website_id: int) -> tuple[str, str]:
    folder = server.setting("nginx_ssl_dir", "/etc/nginx/ssl")
    base = posixpath.join(folder, f"hostdeck-site-{int(website_id)}")
    return base + ".crt", base + ".key"


def next_key(server: Server, website_id: int) -> str:
    """Where the ACME script makes a new key, beside the live one; it goes live with the chain issued for it."""
    return tls_files(server, website_id)[1] + ".next"


def usage_log(server: Server, website_id: int) -> str:
    """The site's access log: `<nginx_usage_log_dir>/<website id>.log`."""
    folder = server.setting("nginx_usage_log_dir", "/var/log/nginx/hostdeck")
    return posixpath.join(folder, f"{int(website_id)}.log")


def acme_dir(server: Server) -> str:
    return str(server.setting("nginx_acme_dir", "/var/lib/hostdeck/acme-challenge"))


def _names(website: Website) -> list[str]:
    names = []
    for domain in website.domains:
        names.append(_domain(domain.name))
        if website.with_www:
            names.append(_domain("www." + domain.name))
        if website.wildcard:
            names.append("*." + _domain(domain.name))
    if not names:
        raise UnsafeValue("a website needs at least one domain")
    return names


def _body(server: Server, website: Website) -> list[str]:
    """What a block serves: the mounts, or 403 while the account is suspended."""
    lines = ["    index index.php index.html index.htm;"]
    if website.account is not None and not website.account.active:
        return [
            *lines,
            "    default_type text/plain;",
            '    location / { return 403 "This website is suspended.\\n"; }',
        ]
    for mount in sorted(website.mounts, key=lambda m: len(m.path), reverse=True):
        app, path = mount.web_app, _path(mount.path)
        folder = _safe(app_dir(server, app))
        if path == "/":
            lines += ["    location / {", f"        root {folder};"]
        else:
            lines += [f"    location {path}/ {{", f"        alias {folder}/;"]
        if app.kind == "php":
            lines.append(PHP.format(params=PARAMS, socket=_safe(socket_path(server, pool_name(app)))).rstrip("\n"))
        lines.append("    }")
    if not website.mounts:
        lines.append("    location / { return 404; }")
    return lines


def render(server: Server, website: Website, tls: bool | None = None, logged: bool = False) -> str:
    """The site's blocks. tls: serve HTTPS with the files of tls_files() (default: an uploaded certificate).
    logged: both blocks write the site's own access log (usage_log(); the format file must be there).

    Port 80 always answers ACME http-01 challenges from nginx_acme_dir: answering one is writing a file,
    no reload. HSTS goes only on the HTTPS block (browsers ignore it over HTTP, and it must not be cached
    for a plain-HTTP site)."""
    names = " ".join(_names(website))
    tls = bool(website.https) if tls is None else tls
    challenge = (
        f"    location ^~ /.well-known/acme-challenge/ {{ default_type text/plain; alias {_safe(acme_dir(server))}/; }}"
    )
    plain = ["server {", f"    listen {_safe(str(server.setting('nginx_listen', '80')))};", f"    server_name {names};"]
    log = [f"    access_log {_safe(usage_log(server, website.id))} {USAGE_FORMAT};"] if logged else []
    plain += [*log, challenge]
    if tls and website.redirect_https:
        plain.append("    location / { return 301 https://$host$request_uri; }")
    else:
        plain += _body(server, website)
    plain.append("}")
    if not tls:
        return "\n".join(plain) + "\n"
    cert, key = tls_files(server, website.id)
    secure = [
        "server {",
        f"    listen {_safe(str(server.setting('nginx_listen_https', '443')))} ssl;",
        f"    server_name {names};",
        f"    ssl_certificate {_safe(cert)};",
        f"    ssl_certificate_key {_safe(key)};",
        *log,
    ]
    if website.hsts:
        secure.append('    add_header Strict-Transport-Security "max-age=31536000" always;')
    secure += [*_body(server, website), "}"]
    return "\n".join(plain + secure) + "\n"


# The auto mode's fragment. The chain issued by the CA goes live with the key made for it: the new key
# (.next) only if its public key is the chain's, and the chain only beside a key that matches it. So a
# save that comes between a new key and its chain never pairs an old chain with a new key. Staged: if
# nginx -t refuses, the old chain and key are back.
AUTO = """\
hs_chain=$(mktemp); hostdeck_cleanup+=("$hs_chain")
printf '%s' {chain} > "$hs_chain"
hs_want=$(openssl x509 -in "$hs_chain" -noout -pubkey 2>/dev/null || true)
hs_tls=0
if [ -n "$hs_want" ] && [ -e {next} ] && [ "$(openssl pkey -in {next} -pubout 2>/dev/null)" = "$hs_want" ]; then
  hs_stage {key}
  mv -f {next} {key}
fi
if [ -n "$hs_want" ] && [ -e {key} ] && [ "$(openssl pkey -in {key} -pubout 2>/dev/null)" = "$hs_want" ]; then
  if ! cmp -s "$hs_chain" {cert}; then hs_stage {cert}; cp "$hs_chain" {cert}; chmod 0644 {cert}; fi
  hs_tls=1
fi
if [ "$hs_tls" = 1 ]; then
{secure}
else
{plain}
fi"""


class NginxBackend(Backend[Website]):
    name = "nginx"
    handles = ("Website",)

    def payload(self, website: Website, server: Server) -> dict[str, Any]:
        return {"id": website.id}

    def _file(self, server: Server, website_id: int) -> str:
        return posixpath.join(
            server.setting("nginx_sites_dir", "/etc/nginx/sites-enabled"), f"hostdeck-site-{int(website_id)}.conf"
        )

    def prepare(self, script: Script, server: Server) -> None:
        script.add(STAGE)
        sites = server.setting("nginx_sites_dir", "/etc/nginx/sites-enabled")
        fmt = posixpath.join(sites, USAGE_FORMAT_FILE)
        logs = server.setting("nginx_usage_log_dir", "/var/log/nginx/hostdeck")
        script.add(f"mkdir -p -m 0755 {q(logs)}")
        script.add(
            f"if ! printf '%s' {q(USAGE_FORMAT_CONF)} | cmp -s - {q(fmt)}; then\n{write_file(fmt, USAGE_FORMAT_CONF)}\nfi"
        )

    def verifier(self, server: Server, plaintext: str) -> str:
        """A TLS private key goes to the server as it is: that is what nginx reads."""
        return plaintext

    def save(self, script: Script, server: Server, website: Website, secret: str | None, ref: int = 0) -> None:
        cert, key = tls_files(server, website.id)
        if website.tls_mode == "auto":
            chain = db.session.scalar(sa.select(Certificate.chain).where(Certificate.website_id == website.id))
            if chain:
                self._auto(script, server, website, chain)
                return
        if website.tls_mode != "auto":  # no key waits for a chain
            script.add(f"rm -f -- {q(next_key(server, website.id))}")
        if website.https:
            script.add(f"mkdir -p -m 0700 {q(posixpath.dirname(cert))}")
            script.add(write_file(cert, website.certificate))
            if secret is not None:  # printf is a builtin: the key reaches the file, never an argv
                script.add(f"hs_stage {q(key)}\n( umask 077; printf '%s' {script.secret(secret)} > {q(key)} )")
        elif website.tls_mode != "auto":  # HTTPS off: the files of an earlier certificate go
            for path in (cert, key):
                script.add(f"if [ -e {q(path)} ]; then\n{remove_file(path)}\nfi")
        script.add(write_file(self._file(server, website.id), render(server, website, logged=True)))

    def _auto(self, script: Script, server: Server, website: Website, chain: str) -> None:
        cert, key = tls_files(server, website.id)
        site = self._file(server, website.id)
        script.add(f"mkdir -p -m 0700 {q(posixpath.dirname(cert))}")
        script.add(
            AUTO.format(
                chain=q(chain),
                next=q(next_key(server, website.id)),
                key=q(key),
                cert=q(cert),
                secure=write_file(site, render(server, website, tls=True, logged=True)),
                plain=write_file(site, render(server, website, tls=False, logged=True)),
            )
        )

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        script.add(remove_file(self._file(server, payload["id"])))
        for path in (*tls_files(server, payload["id"]), next_key(server, payload["id"])):
            script.add(f"if [ -e {q(path)} ]; then\n{remove_file(path)}\nfi")
        log = usage_log(server, payload["id"])  # the reload closes it; its usage goes with the site
        script.add(f"rm -f -- {q(log)} {q(log + '.1')}")

    def commit(self, script: Script, server: Server) -> None:
        config = server.setting("nginx_config", "/etc/nginx/nginx.conf")
        script.add(
            checked(
                f"nginx -t -c {q(config)}", f"nginx -c {q(config)} -s reload", "nginx", CHECK_NOTICES, RELOAD_NOTICES
            )
        )
