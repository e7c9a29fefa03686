"""nginx: one server block per website; `nginx -t` before every reload, the old files back if it fails.

Every value that reaches a block is checked against a strict pattern first: nginx
has no quoting we could trust with user input, so unsafe input never gets there.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from portal.models import Server, Website
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
    return names


def tls_files(server: Server, website_id: int) -> tuple[str, str]:
    folder = server.setting("nginx_ssl_dir", "/etc/nginx/ssl")
    base = posixpath.join(folder, f"hostdeck-site-{int(website_id)}")
    return base + ".crt", base + ".key"


def render(server: Server, website: Website) -> str:
    names = []
    for domain in website.domains:
        names.append(_domain(domain.name))
        if website.with_www:
            names.append(_domain("www." + domain.name))
    if not names:
        raise UnsafeValue("a website needs at least one domain")
    lines = ["server {", f"    listen {_safe(str(server.setting('nginx_listen', '80')))};"]
    if website.https:
        cert, key = tls_files(server, website.id)
        lines += [
            f"    listen {_safe(str(server.setting('nginx_listen_https', '443')))} ssl;",
            f"    ssl_certificate {_safe(cert)};",
            f"    ssl_certificate_key {_safe(key)};",
        ]
    lines += [f"    server_name {' '.join(names)};", "    index index.php index.html index.htm;"]
    if website.account is not None and not website.account.active:
        lines += ["    default_type text/plain;", '    location / { return 403 "This website is suspended.\\n"; }', "}"]
        return "\n".join(lines) + "\n"
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
    lines.append("}")
    return "\n".join(lines) + "\n"


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

    def verifier(self, server: Server, plaintext: str) -> str:
        """A TLS private key goes to the server as it is: that is what nginx reads."""
        return plaintext

    def save(self, script: Script, server: Server, website: Website, secret: str | None, ref: int = 0) -> None:
        cert, key = tls_files(server, website.id)
        if website.https:
            script.add(f"mkdir -p -m 0700 {q(posixpath.dirname(cert))}")
            script.add(write_file(cert, website.certificate))
            if secret is not None:  # printf is a builtin: the key reaches the file, never an argv
                script.add(f"hs_stage {q(key)}\n( umask 077; printf '%s' {script.secret(secret)} > {q(key)} )")
        script.add(write_file(self._file(server, website.id), render(server, website)))

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        script.add(remove_file(self._file(server, payload["id"])))
        for path in tls_files(server, payload["id"]):
            script.add(f"if [ -e {q(path)} ]; then\n{remove_file(path)}\nfi")

    def commit(self, script: Script, server: Server) -> None:
        config = server.setting("nginx_config", "/etc/nginx/nginx.conf")
        script.add(
            checked(
                f"nginx -t -c {q(config)}", f"nginx -c {q(config)} -s reload", "nginx", CHECK_NOTICES, RELOAD_NOTICES
            )
        )
