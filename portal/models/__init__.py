"""All models, importable from one place (and seen by Alembic)."""

from portal.models.accounts import Account, AccountKind, Role, User
from portal.models.audit import AuditEvent
from portal.models.base import Base, utcnow
from portal.models.certificates import AcmeAccount, AcmeOrder, Certificate, CertState
from portal.models.databases import Database, DatabaseUser, Engine, database_grant
from portal.models.dns import DkimKey, DkimState, DnsRecord
from portal.models.hosting import Mount, SystemUser, WebApp, Website, website_domain
from portal.models.kinds import KINDS, LIMITS, Kind
from portal.models.mail import Address, Domain, Mailbox, address_mailbox
from portal.models.metering import Crossing, Measured, Metric, Reading, Rollup, Sample
from portal.models.orchestration import BackendLog, LogState, Operation, OpState
from portal.models.placement import Placement
from portal.models.plans import Plan
from portal.models.servers import Route, Server
from portal.models.sessions import LoginSession, RecoveryCode
from portal.models.status import Status
from portal.models.tokens import ApiToken, IdempotentAnswer

__all__ = [
    "KINDS",
    "LIMITS",
    "Account",
    "AccountKind",
    "AcmeAccount",
    "AcmeOrder",
    "Address",
    "ApiToken",
    "AuditEvent",
    "BackendLog",
    "Base",
    "CertState",
    "Certificate",
    "Crossing",
    "Database",
    "DatabaseUser",
    "DkimKey",
    "DkimState",
    "DnsRecord",
    "Domain",
    "Engine",
    "IdempotentAnswer",
    "Kind",
    "LogState",
    "LoginSession",
    "Mailbox",
    "Measured",
    "Metric",
    "Mount",
    "OpState",
    "Operation",
    "Placement",
    "Plan",
    "Reading",
    "RecoveryCode",
    "Role",
    "Rollup",
    "Route",
    "Sample",
    "Server",
    "Status",
    "SystemUser",
    "User",
    "WebApp",
    "Website",
    "address_mailbox",
    "database_grant",
    "utcnow",
    "website_domain",
]
