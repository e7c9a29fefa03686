"""Managing the servers themselves: their address, SSH login and settings, their pinned host key, their
routes, and removing one. Admins on the server's page and the operator's `flask servers` commands call
the same functions; each change is one audit event ("server.<verb>") and never commits.

What goes where when things are taken away:

- **Removing a route** stops new changes of that backend from going to the server. What the server
  already holds stays there as it is: nothing is deleted on it. It is refused while changes of that
  backend are still waiting for the server or running there, since they would land on a server the
  portal no longer sends anything to; let them be applied (or fail) first.
- **Removing a server** is for a server taken out of service. It is refused while any backend is still
  routed to it (remove the routes first: that is the step that stops the changes) and while any change
  is waiting or running there. Its history goes with it: the operations it applied and its backend logs
  reference the server and mean nothing without it, and a retry of them would have nowhere to go. The
  removal itself stays in the audit trail with the server's name, address, fingerprint and how many
  logs went, and every change those logs applied keeps its own audit event. An object whose last
  change failed on that server keeps its failed status; its next change goes to the servers routed then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, Operation, OpState, Reading, Rollup, Route, Sample, Server
from portal.models.server_settings import setting_from_text, settings_problems
from portal.orchestration.backends import BACKENDS
from portal.orchestration.republish import republish_all
from portal.orchestration.transports import host_key_from_keyscan, parse_host_key
from portal.security.audit import audit
from portal.security.scoping import Actor
from portal.services import ServiceError
from portal.services.text import plain_text
from portal.words import gettext, ngettext

# A host name or an IP address (v4 or v6), as paramiko is given it; nothing of a shell's.
HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
HOST_MAX = 255
# A login name as useradd takes it (letters, digits, _ . -), within the column.
SSH_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
SSH_USER_MAX = 64
BUSY = (OpState.PENDING, OpState.RUNNING)


def server_named(name: str) -> Server:
    server = db.session.scalar(sa.select(Server).where(Server.name == name))
    if server is None:
        raise ServiceError(gettext("There is no server named %(name)s.", name=name))
    return server


def fingerprint(host_key: str | None) -> str:
    """A pinned key's SHA256 fingerprint as `ssh-keygen -l` prints it, or "" for none."""
    if not host_key:
        return ""
    return str(parse_host_key(host_key).fingerprint)


# Editing


def settings_from_lines(text: str) -> dict[str, Any]:
    """The settings form's text area, one KEY=VALUE a line (blank lines ignored), as a dict."""
    settings: dict[str, Any] = {}
    for number, line in enumerate(plain_text(text, "settings", multiline=True).splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ServiceError(
                gettext("Line %(num)d is not KEY=VALUE: %(line)s", num=number, line=line), field="settings"
            )
        settings[key.strip()] = setting_from_text(key.strip(), value.strip())
    return settings


def settings_as_lines(settings: dict[str, Any]) -> str:
    return "\n".join(f"{key}={_as_text(value)}" for key, value in sorted((settings or {}).items()))


def _as_text(value: Any) -> str:
    """A stored value as typed in the form: a list (php_versions) comma-separated."""
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _host(host: str) -> str:
    host = plain_text(host, "host").strip()
    if not host:
        raise ServiceError(gettext("Give the server's host name or IP address."), field="host")
    if len(host) > HOST_MAX or not HOST.fullmatch(host):
        raise ServiceError(
            gettext("A host name or IP address has only letters, digits, dots, hyphens and colons."), field="host"
        )
    return host


def _port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise ServiceError(gettext("A port is a number from 1 to 65535."), field="port")
    return port


def _ssh_user(name: str) -> str:
    name = plain_text(name, "ssh_user").strip()
    if not name or len(name) > SSH_USER_MAX or not SSH_USER.fullmatch(name):
        raise ServiceError(
            gettext("An SSH user name has only letters, digits, dots, hyphens and underscores (at most 64)."),
            field="ssh_user",
        )
    return name


def edit_server(
    actor: Actor | None, server: Server, *, host: str, port: int, ssh_user: str, settings: dict[str, Any]
) -> list[str]:
    """Set the server's address, port, SSH user and its whole settings (a key left out is unset).
    Returns the names of what changed (none: nothing audited). The next job connects anew: the SSH
    pool's target holds the address and user."""
    host, port, ssh_user = _host(host), _port(port), _ssh_user(ssh_user)
    for key, value in settings.items():
        plain_text(f"{key}={value}", "settings")
    problems = settings_problems(settings)
    if problems:
        raise ServiceError(" ".join(problems), field="settings")
    fields: dict[str, Any] = {}
    for name, new in (("host", host), ("port", port), ("ssh_user", ssh_user)):
        old = getattr(server, name)
        if old != new:
            fields[name] = f"{old} → {new}"
            setattr(server, name, new)
    old_settings = dict(server.settings or {})
    changed = {k: v for k, v in settings.items() if k not in old_settings or old_settings[k] != v}
    unset = sorted(set(old_settings) - set(settings))
    if changed:
        fields["set"] = [f"{k}={v}" for k, v in sorted(changed.items())]
    if unset:
        fields["unset"] = unset
    if changed or unset:
        server.settings = dict(settings)  # a new dict: the JSON column sees the change
    if fields:
        db.session.flush()
        audit(actor, "server.edit", obj=server, fields=fields)
        if _shown_in_zones(server, set(changed) | set(unset) | set(fields)):
            republish_all(actor)
    return list(fields)


# What the zones publish of a server (orchestration/zones.py): a change re-applies them.
ZONE_SETTINGS = {"public_addresses", "mail_hostname", "host"}
ZONE_BACKENDS = {"nginx", "postfix", "bind"}


def _shown_in_zones(server: Server, names: set[str]) -> bool:
    if not ZONE_BACKENDS & set(routed(server)):
        return False
    return bool(names & ZONE_SETTINGS) or any(n.startswith(("dns_", "bind_")) for n in names)


def merged_settings(server: Server, set_pairs: dict[str, Any], unset: list[str]) -> dict[str, Any]:
    """The server's settings with some set and some unset (the command line's --set and --unset)."""
    settings = dict(server.settings or {})
    for key in unset:
        if key not in settings:
            raise ServiceError(gettext("%(server)s has no setting %(key)s.", server=server.name, key=key))
        del settings[key]
    settings.update(set_pairs)
    return settings


# Re-pinning the host key


@dataclass(frozen=True)
class Repin:
    """What a re-pin would change: the keys as stored ("type base64") and their fingerprints."""

    old_key: str
    new_key: str
    old_fingerprint: str
    new_fingerprint: str


def repin_preview(server: Server, text: str) -> Repin:
    """The key in a pasted public key or ssh-keyscan output (ed25519 preferred), beside the pinned
    one. Nothing changes yet: the person compares the fingerprints, then repin() with the new key."""
    if server.transport != "ssh":
        raise ServiceError(gettext("%(server)s is not reached over SSH: it has no host key.", server=server.name))
    try:
        new_key = host_key_from_keyscan(plain_text(text, "host_key", multiline=True))
    except ValueError as exc:
        raise ServiceError(
            gettext(
                "No public host key could be read there (%(why)s). Paste a line such as “ssh-ed25519 AAAA…”, "
                "or what ssh-keyscan printed.",
                why=str(exc),
            ),
            field="host_key",
        ) from exc
    if new_key == server.host_key:
        raise ServiceError(
            gettext("That is the key already pinned for %(server)s.", server=server.name), field="host_key"
        )
    return Repin(server.host_key or "", new_key, fingerprint(server.host_key), fingerprint(new_key))


def repin(actor: Actor | None, server: Server, new_key: str, *, seen_fingerprint: str) -> Repin:
    """Pin new_key, from a repin_preview() the person confirmed. seen_fingerprint is the old one they
    were shown: if someone re-pinned meanwhile, this refuses rather than replace a key nobody saw."""
    change = repin_preview(server, new_key)
    if change.old_fingerprint != seen_fingerprint:
        raise ServiceError(
            gettext(
                "The key pinned for %(server)s changed while you were deciding; compare the fingerprints again.",
                server=server.name,
            )
        )
    server.host_key = change.new_key
    db.session.flush()
    audit(
        actor,
        "server.repin",
        obj=server,
        fields={"old_fingerprint": change.old_fingerprint or None, "new_fingerprint": change.new_fingerprint},
    )
    return change


# Routes


def routed(server: Server) -> list[str]:
    return sorted(r.backend for r in server.routes)


def add_route(actor: Actor | None, server: Server, backend: str) -> Route:
    """Route a backend to the server: its changes are applied there from now on (a resync brings
    what exists already)."""
    if backend not in BACKENDS:
        raise ServiceError(gettext("There is no backend named %(backend)s.", backend=backend), field="backend")
    if backend in routed(server):
        raise ServiceError(
            gettext("%(backend)s already runs on %(server)s.", backend=backend, server=server.name), field="backend"
        )
    route = Route(backend=backend, server=server)
    db.session.add(route)
    db.session.flush()
    audit(actor, "server.route", obj=server, fields={"backend": backend})
    if backend in ZONE_BACKENDS - {"bind"}:  # a new DNS server takes its zones with a resync
        republish_all(actor)
    return route


def _busy(server: Server, backend: str | None = None) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(Operation)
        .where(Operation.server_id == server.id, Operation.state.in_(BUSY))
    )
    if backend is not None:
        query = query.where(Operation.backend == backend)
    return db.session.scalar(query) or 0


def remove_route(actor: Actor | None, server: Server, backend: str) -> None:
    """Stop sending the backend's changes to the server (the module's note says what stays)."""
    route = next((r for r in server.routes if r.backend == backend), None)
    if route is None:
        raise ServiceError(gettext("%(backend)s does not run on %(server)s.", backend=backend, server=server.name))
    busy = _busy(server, backend)
    if busy:
        raise ServiceError(
            ngettext(
                "%(num)d change of %(backend)s is still waiting for %(server)s or running there. "
                "Let it be applied (or fail) first, then remove the route.",
                "%(num)d changes of %(backend)s are still waiting for %(server)s or running there. "
                "Let them be applied (or fail) first, then remove the route.",
                busy,
                backend=backend,
                server=server.name,
            )
        )
    server.routes.remove(route)
    db.session.flush()
    audit(actor, "server.unroute", obj=server, fields={"backend": backend})
    if backend in ZONE_BACKENDS - {"bind"}:
        republish_all(actor)


# Removing


@dataclass(frozen=True)
class History:
    logs: int
    operations: int


def history(server: Server) -> History:
    """What goes with the server when it is removed."""

    def count(model: type[BackendLog] | type[Operation]) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.server_id == server.id)) or 0

    return History(logs=count(BackendLog), operations=count(Operation))


def removal_problem(server: Server) -> str | None:
    """Why the server cannot be removed now, or None."""
    backends = routed(server)
    if backends:
        return ngettext(
            "%(server)s still runs %(backends)s: remove that route first.",
            "%(server)s still runs %(backends)s: remove those routes first.",
            len(backends),
            server=server.name,
            backends=", ".join(backends),
        )
    busy = _busy(server)
    if busy:
        return ngettext(
            "%(num)d change is still waiting for %(server)s or running there.",
            "%(num)d changes are still waiting for %(server)s or running there.",
            busy,
            server=server.name,
        )
    return None


def remove_server(actor: Actor | None, server: Server) -> History:
    """Remove a server no route uses and nothing waits for, with its history (the module's note)."""
    problem = removal_problem(server)
    if problem:
        raise ServiceError(problem)
    gone = history(server)
    audit(
        actor,
        "server.remove",
        obj=server,
        fields={
            "host": f"{server.ssh_user}@{server.host}:{server.port}",
            "fingerprint": fingerprint(server.host_key) or None,
            "logs": gone.logs,
        },
    )
    db.session.execute(sa.delete(Operation).where(Operation.server_id == server.id))
    db.session.execute(sa.delete(BackendLog).where(BackendLog.server_id == server.id))
    for measured in (Sample, Rollup, Reading):  # what its rounds read (SQLite keeps no cascades)
        db.session.execute(sa.delete(measured).where(measured.server_id == server.id))
    db.session.delete(server)
    db.session.flush()
    return gone
