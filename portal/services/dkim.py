"""A customer rotates their domain's DKIM key (orchestration/dkim_flow.py does the steps)."""

from __future__ import annotations

from portal.models import Domain, Status
from portal.models.dns import DkimKey
from portal.orchestration import dkim_flow
from portal.orchestration.proof import proven
from portal.security.audit import audit
from portal.security.scoping import Actor, get_scoped_or_404
from portal.services import ServiceError
from portal.words import gettext


def rotate_key(actor: Actor | None, domain: Domain) -> DkimKey:
    """A new key for the domain's mail; the old one keeps signing until the new one is published."""
    if domain.status == Status.DELETING:
        raise ServiceError(gettext("%(name)s is being deleted.", name=domain.display_name))
    if not proven(domain) or not dkim_flow.dkim_servers(domain):
        raise ServiceError(gettext("No mail server signs the mail of %(name)s yet.", name=domain.display_name))
    try:
        key = dkim_flow.rotate(domain, actor)
    except dkim_flow.RotationRefused as refused:
        if str(refused) == "in progress":
            raise ServiceError(
                gettext("A new key for %(name)s is on its way already.", name=domain.display_name)
            ) from refused
        raise ServiceError(
            gettext("%(name)s has no signing key yet: it gets one by itself.", name=domain.display_name)
        ) from refused
    audit(actor, "domain.dkim_rotate", obj=domain, fields={"selector": key.selector})
    return key


def rotate_domain_key(actor: Actor, domain_id: int) -> DkimKey:
    return rotate_key(actor, get_scoped_or_404(Domain, domain_id, actor))
