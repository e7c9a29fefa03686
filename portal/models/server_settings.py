"""The server settings Hostdeck knows, each once: its name, the shape of its value, its default, which
backend reads it and what it means. `settings_problems()` checks a server's settings against this
list (`flask servers add`, the edit command and page, and every apply); the README's table of server
settings is written from it (scripts/server_settings_table.py).

Values reach scripts and service configs (q()-quoted, but nginx and PHP-FPM configs have no quoting):
every shape is strict, so a typo or a `;` is refused before any script is built.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel.speaklater import LazyString

from portal.models.validators import shown
from portal.words import gettext, lazy_gettext

# The choices some backends offer (orchestration/verifiers.py makes the verifiers for them).
DOVECOT_SCHEMES = ("SHA512-CRYPT", "ARGON2ID")
MARIADB_AUTH = ("parsec", "ed25519", "mysql_native_password")
MARIADB_DEFAULT_AUTH = "ed25519"

# Absolute, plain characters only, no `..`: values go into configs that cannot quote.
PATH = re.compile(r"^/(?:[A-Za-z0-9._+@-]+(?:/[A-Za-z0-9._+@-]+)*/?)?$")
COMMAND = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
UNIX_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
LOGIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$")
DB_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){LABEL}(?:\.{LABEL})*$")
USER_HOST = re.compile(r"^[A-Za-z0-9.%_:/-]{1,255}$")
LISTEN = re.compile(r"^(?:(?P<host>\*|[0-9.]+|\[[0-9A-Fa-f:.]+\]):)?(?P<port>[0-9]{1,5})$")
VERSION = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}$")


def _path(value: object) -> bool:
    return isinstance(value, str) and bool(PATH.match(value)) and ".." not in value.split("/")


def _command(value: object) -> bool:
    return _path(value) or (isinstance(value, str) and bool(COMMAND.match(value)))


def _number(low: int, high: int) -> Callable[[object], bool]:
    def ok(value: object) -> bool:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return ok


def _matches(pattern: re.Pattern[str]) -> Callable[[object], bool]:
    return lambda value: isinstance(value, str) and bool(pattern.match(value))


def _host(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(HOSTNAME.match(value))


def _listen(value: object) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # the CLI before the declared list stored a bare port as a number
    found = LISTEN.match(value) if isinstance(value, str) else None
    if found is None or not 1 <= int(found["port"]) <= 65535:
        return False
    host = (found["host"] or "*").strip("[]")
    if host == "*":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _address(value: object) -> bool:
    try:
        ipaddress.ip_address(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def _endpoint(value: object) -> bool:
    """An address, or an address and a port: 192.0.2.1, 192.0.2.1:5353, [2001:db8::1]:53."""
    if isinstance(value, str) and _address(value):
        return True
    found = LISTEN.match(value) if isinstance(value, str) else None
    return found is not None and bool(found["host"]) and found["host"] != "*" and _listen(value)


def _list_of(ok: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: isinstance(value, list) and all(ok(v) for v in value)


def _versions(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and VERSION.match(v) for v in value)


def _or_empty(ok: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: value == "" or ok(value)


def _int_from(text: str) -> object:
    return int(text) if text.isascii() and text.isdigit() else text


def _list_from(text: str) -> object:
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class Shape:
    """What a setting's value must be: `rule` says it in words, `ok` checks it, `parse` turns the
    text of a `--set KEY=VALUE` into the value stored."""

    rule: LazyString
    ok: Callable[[object], bool]
    parse: Callable[[str], object] = str


def _either(shape: Shape, rule: LazyString) -> Shape:
    return Shape(rule, _or_empty(shape.ok), shape.parse)


PATH_SHAPE = Shape(lazy_gettext("an absolute path of letters, digits and . _ - + @ (no ..)"), _path)
COMMAND_SHAPE = Shape(lazy_gettext("a command name or an absolute path"), _command)
UNIX_NAME_SHAPE = Shape(lazy_gettext("a user or group name: a-z, digits, _ and -, at most 32"), _matches(UNIX_NAME))
ID_SHAPE = Shape(lazy_gettext("a number from 0 to 4294967294"), _number(0, 4294967294), _int_from)
PORT_SHAPE = Shape(lazy_gettext("a port from 1 to 65535"), _number(1, 65535), _int_from)
SECONDS_SHAPE = Shape(lazy_gettext("a number of seconds from 1 to 86400"), _number(1, 86400), _int_from)
LISTEN_SHAPE = Shape(lazy_gettext("a port, or an address and a port, such as 80, 127.0.0.1:8080 or [::1]:443"), _listen)
HOST_SHAPE = Shape(lazy_gettext("a host name or an IP address"), _host)
HOST_OR_SOCKET_SHAPE = Shape(
    lazy_gettext("a host name, an IP address or the absolute path of the socket folder"),
    lambda value: _host(value) or _path(value),
)
LOGIN_SHAPE = Shape(lazy_gettext("a login name: letters, digits, _ . and -"), _matches(LOGIN_NAME))
DB_NAME_SHAPE = Shape(lazy_gettext("a database name: a-z, digits and _"), _matches(DB_NAME))
USER_HOST_SHAPE = Shape(
    lazy_gettext("a host name, an address or a pattern with the % wildcard, such as localhost or 10.0.0.%"),
    _matches(USER_HOST),
)
ADDRESSES_SHAPE = Shape(lazy_gettext("IP addresses separated by commas, or nothing"), _list_of(_address), _list_from)
ENDPOINTS_SHAPE = Shape(
    lazy_gettext("addresses, each with a port if not 53 (192.0.2.1:5353, [2001:db8::1]:53), separated by commas"),
    _list_of(_endpoint),
    _list_from,
)
HOSTNAMES_SHAPE = Shape(lazy_gettext("host names separated by commas"), _list_of(_matches(HOSTNAME)), _list_from)
VERSIONS_SHAPE = Shape(lazy_gettext("PHP versions such as 8.2, separated by commas"), _versions, _list_from)


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


TIMEZONE_SHAPE = Shape(
    lazy_gettext("a timezone of the tz database, such as Europe/Madrid or UTC"),
    lambda value: isinstance(value, str) and value in _zones(),
)


def _choice(*choices: str) -> Shape:
    return Shape(lazy_gettext("one of %(choices)s", choices=", ".join(choices)), lambda value: value in choices)


@dataclass(frozen=True)
class Setting:
    name: str
    shape: Shape
    default: object
    backends: tuple[str, ...]
    description: str
    # How the README shows the default, when it is not a value (a Hostdeck setting, say).
    default_text: str = ""

    @property
    def shown_default(self) -> str:
        if self.default_text:
            return self.default_text
        if self.default == "":
            return "(empty)"
        if isinstance(self.default, list):
            return f"`{','.join(self.default)}`"
        return f"`{self.default}`"


def _s(name: str, shape: Shape, default: object, backends: str, description: str, **more: Any) -> Setting:
    return Setting(name, shape, default, tuple(backends.split()), description, **more)


EMPTY_PATH = _either(PATH_SHAPE, lazy_gettext("empty, or an absolute path of letters, digits and . _ - + @"))

# In the order the README lists them: by backend.
SETTINGS: tuple[Setting, ...] = (
    _s("dovecot_passwd_file", PATH_SHAPE, "/etc/dovecot/users", "dovecot", "the passwd-file Dovecot reads"),
    _s(
        "dovecot_passwd_group",
        _either(UNIX_NAME_SHAPE, lazy_gettext("empty, or a group name: a-z, digits, _ and -")),
        "dovecot",
        "dovecot",
        "group of a newly created passwd-file (0640) and its folder (0750); empty: leave the group alone",
    ),
    _s(
        "dovecot_scheme",
        _choice(*DOVECOT_SCHEMES),
        "SHA512-CRYPT",
        "dovecot",
        "how the portal hashes mailbox passwords: `SHA512-CRYPT` or `ARGON2ID`",
    ),
    _s("mail_root", PATH_SHAPE, "/var/vmail", "dovecot", "homes are `<mail_root>/<domain>/<local part>`"),
    _s(
        "mail_uid",
        ID_SHAPE,
        5000,
        "dovecot",
        "the uid mail is stored as (Dovecot's `first_valid_uid` must allow it)",
    ),
    _s("mail_gid", ID_SHAPE, 5000, "dovecot", "the gid mail is stored as"),
    _s("postfix_maps_dir", PATH_SHAPE, "/etc/postfix/hostdeck", "postfix", "where the maps live (main.cf names them)"),
    _s(
        "postfix_config_dir",
        EMPTY_PATH,
        "",
        "postfix",
        "a Postfix config folder other than `/etc/postfix` (`postfix -c`)",
    ),
    _s(
        "postfix_postmap",
        _either(COMMAND_SHAPE, lazy_gettext("empty, or a command name or an absolute path")),
        "postmap",
        "postfix",
        "the map compiler; empty: write the map sources only, compile and reload nothing (the demo)",
    ),
    _s(
        "web_home_root",
        PATH_SHAPE,
        "/home",
        "unix phpfpm nginx",
        "homes are `<root>/<user>`; every parent must be root-owned and not group- or world-writable "
        "(sshd's chroot rule)",
    ),
    _s("sftp_group", UNIX_NAME_SHAPE, "hostdeck-sftp", "unix", "the group sshd chroots (created if missing)"),
    _s(
        "phpfpm_binary",
        PATH_SHAPE,
        "/usr/sbin/php-fpm8.2",
        "phpfpm",
        "runs `-t -y <config>` before every reload",
    ),
    _s("phpfpm_config", PATH_SHAPE, "/etc/php/8.2/fpm/php-fpm.conf", "phpfpm", "the master's config"),
    _s("phpfpm_pid_file", PATH_SHAPE, "/run/php/php8.2-fpm.pid", "phpfpm", "the master's pid (reloaded with USR2)"),
    _s(
        "phpfpm_pools_dir",
        PATH_SHAPE,
        "/etc/php/8.2/fpm/pool.d",
        "phpfpm",
        "`hostdeck-<user>__<app>.conf` pools go here (the master's config must include it)",
    ),
    _s("phpfpm_socket_dir", PATH_SHAPE, "/run/php", "phpfpm nginx", "each pool's socket"),
    _s("php_versions", VERSIONS_SHAPE, ["8.2"], "phpfpm", "the PHP versions customers may pick"),
    _s("nginx_config", PATH_SHAPE, "/etc/nginx/nginx.conf", "nginx", "for `nginx -t -c` and `nginx -c ... -s reload`"),
    _s(
        "nginx_sites_dir",
        PATH_SHAPE,
        "/etc/nginx/sites-enabled",
        "nginx",
        "`hostdeck-site-<id>.conf` files go here (the main config must include it)",
    ),
    _s("nginx_listen", LISTEN_SHAPE, "80", "nginx", "what each server block listens on"),
    _s("nginx_listen_https", LISTEN_SHAPE, "443", "nginx", "what each HTTPS server block listens on"),
    _s("nginx_ssl_dir", PATH_SHAPE, "/etc/nginx/ssl", "nginx", "`hostdeck-site-<id>.crt` and `.key` (0600)"),
    _s(
        "nginx_acme_dir",
        PATH_SHAPE,
        "/var/lib/hostdeck/acme-challenge",
        "nginx",
        "where the answers to ACME http-01 challenges go; every site serves `/.well-known/acme-challenge/` from it",
    ),
    _s(
        "nginx_usage_log_dir",
        PATH_SHAPE,
        "/var/log/nginx/hostdeck",
        "nginx",
        "each site's own access log, `<website id>.log`, which usage rounds read (rotate it with `mv` and "
        "`nginx -s reopen`, or copytruncate)",
    ),
    _s(
        "public_addresses",
        ADDRESSES_SHAPE,
        [],
        "nginx postfix",
        "the server's public IPv4 and IPv6 addresses: the A and AAAA records of the websites it serves, "
        "and the SPF record of the mail it sends",
    ),
    _s(
        "mail_hostname",
        _either(Shape(lazy_gettext("a host name"), _matches(HOSTNAME)), lazy_gettext("empty, or a host name")),
        "",
        "postfix",
        "the name MX records and mail clients' settings point at; empty: the server's host",
    ),
    _s(
        "postfix_log",
        PATH_SHAPE,
        "/var/log/mail.log",
        "postfix",
        "the log usage rounds count mail received and sent in (syslog's, or Postfix's `maillog_file`), "
        "in the server's `timezone`",
    ),
    _s(
        "opendkim_keys_dir",
        PATH_SHAPE,
        "/etc/opendkim/keys",
        "opendkim",
        "`<domain>/<selector>.private` keys, made here by `opendkim-genkey` (0600, owned by `opendkim_user`)",
    ),
    _s(
        "opendkim_key_table",
        PATH_SHAPE,
        "/etc/opendkim/KeyTable",
        "opendkim",
        "the KeyTable (`refile:` in opendkim.conf)",
    ),
    _s(
        "opendkim_signing_table",
        PATH_SHAPE,
        "/etc/opendkim/SigningTable",
        "opendkim",
        "the SigningTable (`refile:` in opendkim.conf)",
    ),
    _s("opendkim_user", UNIX_NAME_SHAPE, "opendkim", "opendkim", "the user OpenDKIM runs as: it must read the keys"),
    _s(
        "opendkim_pid_file",
        _either(PATH_SHAPE, lazy_gettext("empty, or an absolute path of letters, digits and . _ - + @")),
        "/run/opendkim/opendkim.pid",
        "opendkim",
        "OpenDKIM's pid, signalled to re-read its tables; empty: reload nothing (the demo)",
    ),
    _s(
        "bind_role",
        _choice("primary", "secondary"),
        "primary",
        "bind",
        "`primary`: the zones are written here; `secondary`: fetched from `bind_primaries` by AXFR",
    ),
    _s(
        "bind_zones_dir",
        PATH_SHAPE,
        "/var/lib/bind/hostdeck",
        "bind",
        "`<zone>.zone` files, and DNSSEC keys in `keys/`",
    ),
    _s(
        "bind_zones_conf",
        PATH_SHAPE,
        "/etc/bind/hostdeck-zones.conf",
        "bind",
        "the zone list Hostdeck writes (named.conf must include it)",
    ),
    _s("bind_named_conf", PATH_SHAPE, "/etc/bind/named.conf", "bind", "checked with `named-checkconf` before a reload"),
    _s(
        "bind_rndc",
        _either(COMMAND_SHAPE, lazy_gettext("empty, or a command name or an absolute path")),
        "rndc",
        "bind",
        "reloads the zones that changed; empty: write the zones only, check them if BIND is installed (the demo)",
    ),
    _s("bind_rndc_config", EMPTY_PATH, "", "bind", "an rndc.conf other than the default (`rndc -c`)"),
    _s(
        "bind_tsig_file",
        PATH_SHAPE,
        "/etc/bind/hostdeck-xfer.key",
        "bind",
        "the TSIG key of zone transfers: made on the primary by its first script, copied to each secondary by "
        "the operator (docs/dns-server.md); named.conf must include it",
    ),
    _s(
        "bind_tsig_name",
        Shape(lazy_gettext("a host name"), _matches(HOSTNAME)),
        "hostdeck-xfer",
        "bind",
        "the TSIG key's name",
    ),
    _s(
        "bind_secondaries",
        ENDPOINTS_SHAPE,
        [],
        "bind",
        "on a primary: the secondaries told of changes (NOTIFY) and allowed to transfer, with the TSIG key",
    ),
    _s("bind_primaries", ENDPOINTS_SHAPE, [], "bind", "on a secondary: where the zones come from"),
    _s(
        "dns_nameservers",
        HOSTNAMES_SHAPE,
        [],
        "bind",
        "the NS records of every zone, the first also the SOA's primary name (needed on a primary)",
    ),
    _s(
        "dns_hostmaster",
        _either(Shape(lazy_gettext("a host name"), _matches(HOSTNAME)), lazy_gettext("empty, or a host name")),
        "",
        "bind",
        "the SOA's contact, written as a host name (`hostmaster.example.net`); empty: `hostmaster.<zone>`",
    ),
    _s("dns_ttl", SECONDS_SHAPE, 3600, "bind", "the TTL of the records Hostdeck publishes"),
    _s("mariadb_client", COMMAND_SHAPE, "mariadb", "mariadb", "the client the script runs, as the SSH user"),
    _s(
        "mariadb_defaults_file",
        EMPTY_PATH,
        "",
        "mariadb",
        "an option file with the admin login (`[client] user=… password=…`), when the SSH user is not root "
        "over the socket",
    ),
    _s(
        "mariadb_host",
        _either(HOST_SHAPE, lazy_gettext("empty, or a host name or an IP address")),
        "",
        "mariadb",
        "where the client connects, when not over the socket",
    ),
    _s(
        "mariadb_port", _either(PORT_SHAPE, lazy_gettext("empty, or a port from 1 to 65535")), "", "mariadb", "its port"
    ),
    _s(
        "mariadb_admin",
        _either(LOGIN_SHAPE, lazy_gettext("empty, or a login name")),
        "",
        "mariadb",
        "as whom the client connects",
    ),
    _s(
        "mariadb_user_host",
        USER_HOST_SHAPE,
        "localhost",
        "mariadb",
        "the host part of the users Hostdeck creates: `%` or an address when the web servers are elsewhere",
    ),
    _s(
        "mariadb_auth",
        _choice(*MARIADB_AUTH),
        MARIADB_DEFAULT_AUTH,
        "mariadb",
        "how users log in: `ed25519`, `parsec` (MariaDB 11.6+, salted) or `mysql_native_password` (PHP's "
        "stock mysqlnd speaks neither of the others); the script installs the plugin when the server lacks it",
    ),
    _s(
        "postgresql_run_as",
        _either(UNIX_NAME_SHAPE, lazy_gettext("empty, or a user name: a-z, digits, _ and -")),
        "postgres",
        "postgresql",
        "the unix user `psql` runs as (through `runuser`); empty: the SSH user",
    ),
    _s(
        "postgresql_host",
        _either(HOST_OR_SOCKET_SHAPE, lazy_gettext("empty, or a host name, an IP address or a socket folder")),
        "",
        "postgresql",
        "the host or socket folder `psql` connects to, when not the default",
    ),
    _s(
        "postgresql_port",
        _either(PORT_SHAPE, lazy_gettext("empty, or a port from 1 to 65535")),
        "",
        "postgresql",
        "its port",
    ),
    _s(
        "postgresql_admin",
        _either(LOGIN_SHAPE, lazy_gettext("empty, or a login name")),
        "",
        "postgresql",
        "the role `psql` logs in as",
    ),
    _s("postgresql_admin_db", DB_NAME_SHAPE, "postgres", "postgresql", "the database `psql` starts in"),
    _s(
        "timezone",
        TIMEZONE_SHAPE,
        "UTC",
        "all",
        "the timezone the server's logs write their times in (`flask servers check` fills it in)",
    ),
    _s(
        "usage_state_dir",
        PATH_SHAPE,
        "/var/lib/hostdeck/usage",
        "all",
        "where usage rounds keep their place in each log they read (and their lock)",
    ),
    _s(
        "exec_timeout",
        SECONDS_SHAPE,
        None,
        "all",
        "seconds a script may run on this server (at most half of `RQ_JOB_TIMEOUT`)",
        default_text="`JOB_TIMEOUT`",
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def setting_problem(name: str, value: object) -> str | None:
    """What is wrong with one setting, in plain words; None when it is fine."""
    setting = BY_NAME.get(name)
    if setting is None:
        close = difflib.get_close_matches(name, BY_NAME, n=1)
        if close:
            return gettext(
                "%(name)s is not a server setting: did you mean %(close)s?", name=shown(name), close=close[0]
            )
        return gettext("%(name)s is not a server setting (the README lists them).", name=shown(name))
    if not setting.shape.ok(value):
        return gettext(
            "%(name)s must be %(rule)s, not %(value)s.",
            name=name,
            rule=setting.shape.rule,
            value=shown(repr(value)),
        )
    return None


def settings_problems(settings: dict[str, Any]) -> list[str]:
    """One problem in plain words per bad setting: an unknown name, or a value of the wrong shape."""
    found = (setting_problem(name, value) for name, value in sorted((settings or {}).items()))
    return [problem for problem in found if problem]


def setting_from_text(name: str, text: str) -> object:
    """The value stored for `--set NAME=TEXT` (a number, a list, or the text)."""
    setting = BY_NAME.get(name)
    return setting.shape.parse(text) if setting else text


def setting_values(settings: dict[str, Any]) -> dict[str, Any]:
    """Every known setting's value on a server: its own, else the default."""
    return {s.name: (settings or {}).get(s.name, s.default) for s in SETTINGS}


# The README's table, between these markers.
BEGIN, END = "<!-- server-settings -->", "<!-- /server-settings -->"


def table() -> str:
    rows = ["| setting | read by | default | value | meaning |", "| --- | --- | --- | --- | --- |"]
    for s in SETTINGS:
        rule = str(s.shape.rule).replace("|", "\\|")
        rows.append(f"| `{s.name}` | {', '.join(s.backends)} | {s.shown_default} | {rule} | {s.description} |")
    return "\n".join(rows)


def with_table(readme: str) -> str:
    """The README with its server-settings table written anew from SETTINGS."""
    before, begin, rest = readme.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the README has no {BEGIN} ... {END} markers")
    return f"{before}{BEGIN}\n{table()}\n{END}{after}"
