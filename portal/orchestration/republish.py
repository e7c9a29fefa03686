"""Apply a zone again when something it shows changed without being a change of its own."""

from __future__ import annotations

from collections.abc import Iterable

from portal.models import Domain, Status
from portal.orchestration.operations import requeue
from portal.orchestration.placement import place
from portal.orchestration.proof import proven
from portal.orchestration.routes import routed_servers
from portal.security.scoping import Actor


def republish(domains: Iterable[Domain], actor: Actor | None = None) -> None:
    """Re-apply these domains' zones on every DNS server they belong on (a DKIM key made, an ACME
    answer to publish): outbox operations, dispatched after the commit."""
    for domain in domains:
        if domain.status == Status.DELETING or not proven(domain):
            continue
        for server in place(routed_servers("bind"), domain.account_id):
            requeue(server, "bind", "Domain", domain.id, actor=actor)
