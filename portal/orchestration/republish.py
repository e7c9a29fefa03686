"""Apply a zone again when something it shows changed without being a change of its own."""

from __future__ import annotations

from collections.abc import Iterable

from portal.models import Domain, Status
from portal.orchestration.operations import requeue, requeue_all
from portal.orchestration.placement import accounts_here, place
from portal.orchestration.proof import proven
from portal.orchestration.routes import routed_servers
from portal.orchestration.zones import served
from portal.security.scoping import Actor


def republish(domains: Iterable[Domain], actor: Actor | None = None) -> None:
    """Re-apply these domains' zones on every DNS server they belong on (a DKIM key made, an ACME
    answer to publish): outbox operations, dispatched after the commit."""
    for domain in domains:
        if domain.status == Status.DELETING or not proven(domain):
            continue
        for server in place(routed_servers("bind"), domain.account_id):
            requeue(server, "bind", "Domain", domain.id, actor=actor)


def republish_all(actor: Actor | None = None) -> int:
    """Every zone on every DNS server, again: what they publish of other servers changed (a web
    server's addresses, a mail server's name, a route). Unchanged zones keep their serial."""
    count = 0
    for server in routed_servers("bind"):
        domains = served(server, accounts_here(server.id))
        if domains:
            count += len(requeue_all(server, "bind", list(domains), actor=actor))
    return count
