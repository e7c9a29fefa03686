"""Every kind of object Hostdeck provisions on servers, declared once.

The kinds come in dependency order: each needs only kinds above it (a mailbox its domain, a web app
its system user, a website its domains and web apps). Whatever loops over kinds reads this list:
the job loading changed objects by name, settling and deleting (in reverse order, so a row goes
before the rows it points at), a reseller deleting or suspending a sub-account, the usage counters
and limits, the activity wording, the staff account overview and the tenancy walk in the tests.

Adding a kind is one entry here, plus its model, backend, service and views (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from portal.models.databases import Database, DatabaseUser
from portal.models.dns import DnsRecord
from portal.models.hosting import SystemUser, WebApp, Website
from portal.models.mail import Address, Domain, Mailbox
from portal.models.status import Provisioned
from portal.words import lazy_gettext, ngettext

# "3 mailboxes": a count with its words, one ngettext per kind, so that each language gets its own
# plural forms (and the gender its words need around them).
Count = Callable[[int], str]


@dataclass(frozen=True)
class Measure:
    """What a measured column adds up toward: the limit's words ("MB of mail quota") and a count."""

    words: str
    count: Count


# eq=False: a kind is itself (hashable, compared by identity), whatever its fields hold.
@dataclass(frozen=True, eq=False)
class Kind:
    model: type[Provisioned]
    # Words for people, lazy (translated when read, in the reader's language): "system user",
    # "system users". Anything that keeps them past a request (JSON, a stored value) takes str().
    singular: str
    plural: str
    # "%(num)d system user" / "%(num)d system users", for n.
    count: Count
    # The limit each object counts one toward (Limits.max_<limit>, Usage.used_<limit>), if any.
    limit: str | None = None
    # Columns whose values add up toward a limit of the same name, with the limit's words
    # (a mailbox's quota_mb toward max_quota_mb).
    measures: Mapping[str, Measure] = field(default_factory=dict)
    # Suspending the account re-applies it: its backends have a suspended form (a locked login).
    suspends: bool = False

    @property
    def name(self) -> str:
        """As operations and audit events name it: the model's class name."""
        return self.model.__name__


KINDS: tuple[Kind, ...] = (
    Kind(
        Domain,
        lazy_gettext("domain"),
        lazy_gettext("domains"),
        lambda n: ngettext("%(num)d domain", "%(num)d domains", n),
        limit="domains",
    ),
    Kind(
        DnsRecord,
        lazy_gettext("DNS record"),
        lazy_gettext("DNS records"),
        lambda n: ngettext("%(num)d DNS record", "%(num)d DNS records", n),
    ),
    Kind(
        Mailbox,
        lazy_gettext("mailbox"),
        lazy_gettext("mailboxes"),
        lambda n: ngettext("%(num)d mailbox", "%(num)d mailboxes", n),
        limit="mailboxes",
        measures={
            "quota_mb": Measure(
                lazy_gettext("MB of mail quota"),
                lambda n: ngettext("%(num)d MB of mail quota", "%(num)d MB of mail quota", n),
            )
        },
        suspends=True,
    ),
    Kind(
        Address,
        lazy_gettext("address"),
        lazy_gettext("addresses"),
        lambda n: ngettext("%(num)d address", "%(num)d addresses", n),
        limit="addresses",
    ),
    Kind(
        Database,
        lazy_gettext("database"),
        lazy_gettext("databases"),
        lambda n: ngettext("%(num)d database", "%(num)d databases", n),
        limit="databases",
    ),
    Kind(
        DatabaseUser,
        lazy_gettext("database user"),
        lazy_gettext("database users"),
        lambda n: ngettext("%(num)d database user", "%(num)d database users", n),
        suspends=True,
    ),
    Kind(
        SystemUser,
        lazy_gettext("system user"),
        lazy_gettext("system users"),
        lambda n: ngettext("%(num)d system user", "%(num)d system users", n),
        limit="system_users",
        suspends=True,
    ),
    Kind(
        WebApp,
        lazy_gettext("web app"),
        lazy_gettext("web apps"),
        lambda n: ngettext("%(num)d web app", "%(num)d web apps", n),
        limit="web_apps",
    ),
    Kind(
        Website,
        lazy_gettext("website"),
        lazy_gettext("websites"),
        lambda n: ngettext("%(num)d website", "%(num)d websites", n),
        suspends=True,
    ),
)

# Rows that others point at go last.
DELETION_ORDER: tuple[Kind, ...] = tuple(reversed(KINDS))
SUSPENDED: tuple[Kind, ...] = tuple(k for k in KINDS if k.suspends)
COUNTED: tuple[Kind, ...] = tuple(k for k in KINDS if k.limit or k.measures)

# What can be limited: limit name -> words for people ("Most <words>"), lazy like the kinds' words.
LIMITS: dict[str, str] = {
    **{k.limit: k.plural for k in KINDS if k.limit},
    **{column: m.words for k in KINDS for column, m in k.measures.items()},
}
# Limits no usage counter keeps: the service that needs one counts (services/dns.py, per zone).
# Set beside the others wherever limits are set (plans, a reseller's sub-accounts, `flask plans`).
UNCOUNTED_LIMITS: dict[str, str] = {"records_per_zone": lazy_gettext("custom DNS records per zone")}
# limit name -> its count ("3 mailboxes", "500 MB of mail quota"): counted(limit, n).
_COUNTS: dict[str, Count] = {
    **{k.limit: k.count for k in KINDS if k.limit},
    **{column: m.count for k in KINDS for column, m in k.measures.items()},
}
_COUNTS["records_per_zone"] = lambda n: ngettext(
    "%(num)d custom DNS record per zone", "%(num)d custom DNS records per zone", n
)
# Every limit a plan or an account sets: the counted ones, then the others.
ALL_LIMITS: dict[str, str] = {**LIMITS, **UNCOUNTED_LIMITS}


def counted(limit: str, n: int) -> str:
    """n of what a limit counts, in words with the right plural: "1 mailbox", "3 mailboxes"."""
    return str(_COUNTS[limit](n))


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
