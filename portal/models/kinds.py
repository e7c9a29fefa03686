"""Every kind of object Hostdeck provisions on servers, declared once.

The kinds come in dependency order: each needs only kinds above it (a mailbox its domain, a web app
its system user, a website its domains and web apps). Whatever loops over kinds reads this list:
the job loading changed objects by name, settling and deleting (in reverse order, so a row goes
before the rows it points at), a reseller deleting or suspending a sub-account, the usage counters
and limits, the activity wording, the staff account overview and the tenancy walk in the tests.

Adding a kind is one entry here, plus its model, backend, service and views (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from portal.models.databases import Database, DatabaseUser
from portal.models.hosting import SystemUser, WebApp, Website
from portal.models.mail import Address, Domain, Mailbox
from portal.models.status import Provisioned


# eq=False: a kind is itself (hashable, compared by identity), whatever its fields hold.
@dataclass(frozen=True, eq=False)
class Kind:
    model: type[Provisioned]
    # Words for people: "system user", "system users".
    singular: str
    plural: str
    # The limit each object counts one toward (Limits.max_<limit>, Usage.used_<limit>), if any.
    limit: str | None = None
    # Columns whose values add up toward a limit of the same name, with the limit's words
    # (a mailbox's quota_mb toward max_quota_mb).
    measures: Mapping[str, str] = field(default_factory=dict)
    # Suspending the account re-applies it: its backends have a suspended form (a locked login).
    suspends: bool = False

    @property
    def name(self) -> str:
        """As operations and audit events name it: the model's class name."""
        return self.model.__name__


KINDS: tuple[Kind, ...] = (
    Kind(Domain, "domain", "domains", limit="domains"),
    Kind(Mailbox, "mailbox", "mailboxes", limit="mailboxes", measures={"quota_mb": "MB of mail quota"}, suspends=True),
    Kind(Address, "address", "addresses", limit="addresses"),
    Kind(Database, "database", "databases", limit="databases"),
    Kind(DatabaseUser, "database user", "database users", suspends=True),
    Kind(SystemUser, "system user", "system users", limit="system_users", suspends=True),
    Kind(WebApp, "web app", "web apps", limit="web_apps"),
    Kind(Website, "website", "websites", suspends=True),
)

# Rows that others point at go last.
DELETION_ORDER: tuple[Kind, ...] = tuple(reversed(KINDS))
SUSPENDED: tuple[Kind, ...] = tuple(k for k in KINDS if k.suspends)
COUNTED: tuple[Kind, ...] = tuple(k for k in KINDS if k.limit or k.measures)

# What can be limited: limit name -> words for people ("Most <words>").
LIMITS: dict[str, str] = {
    **{k.limit: k.plural for k in KINDS if k.limit},
    **{column: words for k in KINDS for column, words in k.measures.items()},
}

_BY_NAME = {k.name: k for k in KINDS}
_BY_MODEL = {k.model: k for k in KINDS}


def kind_named(name: str) -> Kind:
    """The kind an operation's object_type names; KeyError for anything else."""
    return _BY_NAME[name]


def kind_of(obj_or_model: object) -> Kind | None:
    """The kind of a model or an object; None for rows that are not provisioned kinds."""
    model = obj_or_model if isinstance(obj_or_model, type) else type(obj_or_model)
    return _BY_MODEL.get(model)


def deletion_rank(name: str) -> int:
    """Where a kind goes in the deletion order: sorted by this, sites go before their apps."""
    return DELETION_ORDER.index(_BY_NAME[name])
