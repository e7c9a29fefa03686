"""Which pages each role sees, and what is checked on each: the plan of tests/browser/test_every_page.py.

Every GET rule of the url_map is either visited by some role (its access rule from security/roles.py
says who may see it) or listed in SKIP with the reason; test_every_get_rule_is_covered fails for a
new page that is neither, so no page is forgotten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, url_for
from werkzeug.routing import Rule

from portal.extensions import db
from portal.models import (
    Account,
    Address,
    BackendLog,
    Certificate,
    CertState,
    Database,
    DatabaseUser,
    DnsRecord,
    Domain,
    LogState,
    Mailbox,
    Plan,
    Server,
    Status,
    SystemUser,
    User,
    WebApp,
    Website,
    utcnow,
)
from portal.models.metering import COUNTERS, Measured, Metric
from portal.orchestration.metering.store import store
from portal.services.dns_values import clean
from portal.services.usage import METRICS
from tests.ids import ID_MODELS, is_api

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Phone, tablet, desktop; each with a height of its kind.
WIDTHS = (390, 768, 1280)
HEIGHTS = {390: 844, 768: 1024, 1280: 800}
WEIGHED_AT = 1280  # bytes and requests do not depend on the width: weighed once per role
COLD_BYTES, COLD_REQUESTS, WARM_BYTES = 300 * 1024, 10, 30 * 1024
AXE_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Role:
    email: str
    access: frozenset[str]  # the access rules (security/roles.py) of the pages it sees
    two_factor: bool = False  # must set up two-factor login on its first login


ROLES = {
    "customer": Role("customer@example.com", frozenset({"user", "customer"})),
    "reseller": Role("reseller@example.com", frozenset({"user", "customer", "reseller"})),
    # Staff on their own see the console, not the customer's pages (those they see only while
    # impersonating, as the customer sees them).
    "staff": Role("staff@example.com", frozenset({"user", "staff"}), two_factor=True),
    "admin": Role("admin@example.com", frozenset({"user", "staff", "admin"}), two_factor=True),
}

# The customer's tests also open the public pages (access rule "public", no ids) before logging in.
GUEST_OF = "customer"

# Pages the login itself goes through: checked on the way in, before any log-out control exists.
LOGIN_FLOW = {
    "auth.login": "every role",
    "auth.enrol": "staff and admins: the first login sets up two-factor login",
    "auth.two_factor": "staff and admins: the code after the password",
}

# Pages opened with a query, to show what they are for: a pasted host key, the re-pin's question.
NEW_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMwsER2OenXns6Vn8yBZIOQQdbgRhQJRcVUgga/Swgft"
QUERIES = {"staff.server_repin": {"host_key": NEW_HOST_KEY}}

# GET rules no role visits, each with the reason.
SKIP = {
    "static": "static files, not pages",
    "bootstrap.static": "static files of Flask-Bootstrap, not pages",
    "reseller.set_password": "public, with a one-time token from an e-mail",
    "auth.reset_link": "public, with a one-time token from an e-mail",
    "account.confirm_contact": "public, with a token from an e-mail (test_emergency_contact_in_browser.py)",
    "auth.reset_password": "opens only once the e-mailed link (auth.reset_link) put its token in the session",
    # The status polls of status.js answer JSON, not a page.
    "addresses.status": "JSON for status.js",
    "databases.status": "JSON for status.js",
    "databases.user_status": "JSON for status.js",
    "dns.status": "JSON for status.js",
    "domains.status": "JSON for status.js",
    "mailboxes.status": "JSON for status.js",
    "system_users.status": "JSON for status.js",
    "webapps.status": "JSON for status.js",
    "websites.status": "JSON for status.js",
    "reseller.switch_targets": "JSON: the account switcher's list",
    "health.healthz": "JSON for load balancers and supervisors",
    "health.readyz": "JSON for load balancers and supervisors",
    "health.metrics": "Prometheus text, behind METRICS_TOKEN or METRICS_ALLOW",
}

# Pages a role's access rule allows that it still does not see, each with the reason.
NOT_FOR = {
    ("customer", "auth.step_up"): "without two-factor login it redirects to account.two_factor (visited)",
    ("reseller", "auth.step_up"): "without two-factor login it redirects to account.two_factor (visited)",
    ("staff", "account.two_factor"): "with two-factor login on it redirects to account.index (visited)",
    ("admin", "account.two_factor"): "with two-factor login on it redirects to account.index (visited)",
    ("staff", "staff.plan_new"): "admins only: staff get 403 (admins visit it)",
}


def get_rules(app: Flask) -> list[Rule]:
    rules = (r for r in app.url_map.iter_rules() if "GET" in (r.methods or ()) and not is_api(r))
    return sorted(rules, key=lambda r: r.rule)


def access_rule(app: Flask, rule: Rule) -> str | None:
    return getattr(app.view_functions[rule.endpoint], "access_rule", None)


def plan(app: Flask, role: str) -> list[Rule]:
    """The rules this role visits once logged in, in url_map order."""
    return [
        rule
        for rule in get_rules(app)
        if rule.endpoint not in SKIP
        and rule.endpoint not in LOGIN_FLOW
        and (role, rule.endpoint) not in NOT_FOR
        and access_rule(app, rule) in ROLES[role].access
    ]


def public_pages(app: Flask) -> list[Rule]:
    """The pages anyone may open, logged out, besides the login's own."""
    return [
        rule
        for rule in get_rules(app)
        if rule.endpoint not in SKIP
        and rule.endpoint not in LOGIN_FLOW
        and not rule.arguments
        and access_rule(app, rule) == "public"
    ]


def uncovered(app: Flask) -> list[str]:
    """GET rules no role visits and SKIP does not list, and id arguments nothing fills."""
    visited = {rule.endpoint for role in ROLES for rule in plan(app, role)}
    visited |= {rule.endpoint for rule in public_pages(app)}
    problems = [
        f"{rule.endpoint} ({rule.rule}): visit it (an access rule some role has) or list it in pages.SKIP"
        for rule in get_rules(app)
        if rule.endpoint not in visited | set(SKIP) | set(LOGIN_FLOW)
    ]
    problems += [
        f"{rule.endpoint} ({rule.rule}): no model for <{arg}> in tests/ids.py ID_MODELS"
        for role in ROLES
        for rule in plan(app, role)
        for arg in sorted(rule.arguments)
        if arg not in ID_MODELS
    ]
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    problems += [
        f"{name}: listed in pages.SKIP or LOGIN_FLOW, but no such page" for name in {*SKIP, *LOGIN_FLOW} - endpoints
    ]
    return sorted(set(problems))


# The ids the pages are opened with


def ids_for(role: str) -> dict[str, int]:
    """The first object of each kind the role can see: its own account's for customers and resellers
    (a reseller's account_id is its first sub-account), any for staff."""
    user = db.session.scalar(sa.select(User).where(User.email == ROLES[role].email))
    found: dict[str, int] = {}
    for arg, model in ID_MODELS.items():
        query = sa.select(model.id).order_by(model.id)
        if model is Server:  # one reached over SSH: its pages show a host key
            query = sa.select(Server.id).order_by(Server.transport != "ssh", Server.id)
        if user.account_id is not None:
            if model is Account:
                query = query.where(Account.parent_id == user.account_id)
            elif hasattr(model, "account_id"):
                query = query.where(model.account_id == user.account_id)
            else:
                continue  # servers and logs: staff only
        first = db.session.scalar(query.limit(1))
        if first is not None:
            found[arg] = first
    return found


def url_of(app: Flask, rule: Rule, ids: dict[str, int]) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **{arg: ids[arg] for arg in rule.arguments}, **QUERIES.get(rule.endpoint, {}))


def add_one_of_each(account: Account) -> None:
    """One object of every kind in the account, on its first domain, with names as long as people's
    are, so the pages show what a narrow screen must fit."""
    domain = db.session.scalar(sa.select(Domain).where(Domain.account_id == account.id).order_by(Domain.id))
    prefix = account.assigned_prefix()
    mailbox = Mailbox(
        account=account, domain=domain, local_part="accounts-payable.invoices", status=Status.APPLIED, quota_mb=2048
    )
    address = Address(
        account=account,
        domain=domain,
        local_part="customer-service.enquiries",
        mailboxes=[mailbox],
        forwards=["someone.with.a.long.name@an-external-provider.example"],
        status=Status.APPLIED,
    )
    user = SystemUser(account=account, name=f"{prefix}_web", status=Status.APPLIED)
    app = WebApp(account=account, system_user=user, name="storefront", kind="static", options={}, status=Status.APPLIED)
    website = Website(account=account, name="Storefront and blog", domains=[domain], status=Status.APPLIED)
    database = Database(account=account, engine="mariadb", name=f"{prefix}_shop", status=Status.APPLIED)
    db_user = DatabaseUser(account=account, engine="mariadb", name=f"{prefix}_app", status=Status.APPLIED)
    db_user.databases = [database]
    # A DKIM key of another provider: the longest value a zone page shows.
    key = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 9
    records = [
        DnsRecord(account=account, domain=domain, name="google-site", rtype="TXT", value=txt_value(key)),
        DnsRecord(account=account, domain=domain, name="shop", rtype="CNAME", value="shops.a-long-provider.example."),
    ]
    for row in records:
        row.status = Status.APPLIED
    db.session.add_all([mailbox, address, user, app, website, database, db_user, *records])
    db.session.flush()
    # The website page's certificate card, waiting for a name that points elsewhere (long addresses).
    db.session.add(
        Certificate(
            account_id=account.id,
            website_id=website.id,
            state=CertState.WAITING,
            reason_code="not_here",
            reason_args={"name": f"www.{domain.name}", "found": ["2001:db8:1234:5678:9abc:def0:1234:5678"]},
            detail=f"www.{domain.name}: ['2001:db8:1234:5678:9abc:def0:1234:5678']",
            next_attempt_at=utcnow(),
        )
    )


def txt_value(text: str) -> str:
    return clean("example.test", "x", "TXT", 3600, text).value


def add_usage() -> None:
    """A month of measurements for every object a chart shows, as a round stores them: the usage
    cards, charts and bars are on the pages the walk opens."""
    server = db.session.scalar(sa.select(Server).order_by(Server.id).limit(1))
    server.measured_at = now = utcnow()
    measured = []
    for model, metrics in METRICS.items():
        for obj in db.session.scalars(sa.select(model)):
            for day in range(30):
                for metric in metrics:
                    value = (day * 37 + 11) % 400 if metric in COUNTERS else (day + 1) * 3_000_000 + obj.id * 1000
                    if metric in (Metric.BYTES_SERVED, Metric.MAIL_MESSAGES):
                        value = value * 250_000 if metric == Metric.BYTES_SERVED else (day + 1) * 40
                    at = now - timedelta(days=29 - day)
                    measured.append(Measured(model.__name__, obj.id, obj.account_id, metric, value, at))
    store(server.id, measured)


def add_plan() -> None:
    db.session.add(Plan(name="Small business with a longer name", max_mailboxes=50, max_domains=5, max_quota_mb=51200))


def add_backend_log() -> None:
    """A failed script, as the staff console shows it: long lines, as real ones have."""
    server = db.session.scalar(sa.select(Server).order_by(Server.id).limit(1))
    line = "doveadm pw -s SHA512-CRYPT -p '[redacted]' >> /var/lib/hostdeck/dovecot/users.new.tmp-" + "0123456789" * 8
    db.session.add(
        BackendLog(
            server_id=server.id,
            backends="dovecot,postfix",
            state=LogState.FAILURE,
            exit_code=1,
            script=f"set -euo pipefail\n{line}\n",
            stdout="",
            stderr=f"bash: line 2: {line}: No such file or directory\n",
        )
    )


# What goes in the report


def short(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)
