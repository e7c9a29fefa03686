import contextlib
import os

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import LIMITS, Account, AccountKind, Domain, Role, Route, Server, User, utcnow
from portal.orchestration.operations import record, requeue
from portal.orchestration.proof import ProofCode
from portal.security.passwords import hash_password
from portal.services import ServiceError
from portal.services.plans import apply_plan, plan_named, save_plan

demo = AppGroup("demo", help="Demo data for `make run`.")
DEMO_PASSWORD = "hostdeck-test-drive"  # noqa: S105 (the demo's published password)
DEMO_LOGINS = ("admin@example.com", "staff@example.com", "reseller@example.com", "customer@example.com")


# What a small customer gets (the staff Plans page shows it; the demo customer is on it).
STARTER = {
    "domains": 3,
    "mailboxes": 10,
    "quota_mb": 10240,
    "addresses": 50,
    "system_users": 2,
    "web_apps": 3,
    "databases": 3,
}


def seed_demo(root: str) -> bool:
    """Create the demo logins, accounts, domains, a local demo server and the Starter plan. False if
    already there (a demo seeded before it had a plan gets the plan)."""
    if db.session.scalar(sa.select(User).where(User.email == DEMO_LOGINS[0])):
        seed_plan()
        seed_dns(root)
        seed_usage(root)
        db.session.commit()
        return False
    pw = hash_password(DEMO_PASSWORD)
    reseller = Account(name="Demo Reseller", kind=AccountKind.RESELLER)
    customer = Account(name="Demo Customer", kind=AccountKind.CUSTOMER, parent=reseller)
    db.session.add_all(
        [
            User(email="admin@example.com", password_hash=pw, role=Role.ADMIN),
            User(email="staff@example.com", password_hash=pw, role=Role.STAFF),
            User(email="reseller@example.com", password_hash=pw, role=Role.OWNER, account=reseller),
            User(email="customer@example.com", password_hash=pw, role=Role.OWNER, account=customer),
        ]
    )
    server = Server(
        name="demo",
        host="localhost",
        transport="local",
        settings={
            "dovecot_passwd_file": os.path.join(root, "dovecot", "users"),
            "dovecot_scheme": "SHA512-CRYPT",
            "dovecot_passwd_group": "",  # the demo's files belong to whoever runs it
            "mail_root": os.path.join(root, "vmail"),
            "mail_uid": os.getuid(),
            "mail_gid": os.getgid(),
            "postfix_maps_dir": os.path.join(root, "postfix"),
            "postfix_postmap": "",  # no Postfix here: write the map sources, compile nothing
            **DNS_SETTINGS,
            **dns_paths(root),
            **usage_paths(root),
        },
    )
    db.session.add_all([server, *(Route(backend=backend, server=server) for backend in ("dovecot", "postfix", "bind"))])
    db.session.flush()
    for account, name in ((reseller, "reseller.example"), (customer, "example.org"), (customer, "shop.example.org")):
        domain = Domain(account=account, name=name, verified_at=utcnow(), proof_code=ProofCode.DEMO)
        db.session.add(domain)
        db.session.flush()
        record(domain, "save")
    seed_plan()
    db.session.commit()
    return True


# The demo's zones name these; no rndc: the zone files are written (and checked where BIND is installed).
DNS_SETTINGS = {
    "bind_rndc": "",
    "dns_nameservers": ["ns1.demo.example", "ns2.demo.example"],
    "public_addresses": ["192.0.2.10", "2001:db8::10"],
    "mail_hostname": "mail.demo.example",
}


def dns_paths(root: str) -> dict[str, str]:
    return {
        "bind_zones_dir": os.path.join(root, "bind", "zones"),
        "bind_zones_conf": os.path.join(root, "bind", "hostdeck-zones.conf"),
        "bind_named_conf": os.path.join(root, "bind", "named.conf"),
    }


def usage_paths(root: str) -> dict[str, str]:
    # The Postfix log is one of its own (none writes it): never the machine's /var/log/mail.log.
    return {"usage_state_dir": os.path.join(root, "usage"), "postfix_log": os.path.join(root, "mail.log")}


def seed_usage(root: str) -> None:
    """A demo seeded before usage rounds: its server keeps their state in its own folder."""
    server = db.session.scalar(sa.select(Server).where(Server.name == "demo"))
    missing = {k: v for k, v in usage_paths(root).items() if k not in (server.settings or {})} if server else {}
    if server is not None and missing:
        server.settings = {**server.settings, **missing}


def seed_dns(root: str) -> None:
    """A demo seeded before zones existed: its server takes the bind route, its domains their zones."""
    server = db.session.scalar(sa.select(Server).where(Server.name == "demo"))
    if server is None or db.session.scalar(sa.select(Route).where(Route.server == server, Route.backend == "bind")):
        return
    server.settings = {**DNS_SETTINGS, **dns_paths(root), **server.settings}
    db.session.add(Route(backend="bind", server=server))
    db.session.flush()
    for domain in db.session.scalars(sa.select(Domain).where(Domain.verified_at.is_not(None))):
        requeue(server, "bind", "Domain", domain.id)


def seed_plan() -> None:
    """The Starter plan, applied to the demo customer; nothing if the plan is there already."""
    if plan_named("Starter") is not None:
        return
    plan, _ = save_plan(None, None, name="Starter", values=STARTER)
    customer = db.session.scalar(sa.select(Account).where(Account.name == "Demo Customer"))
    if customer is not None and all(customer.limit(kind) is None for kind in LIMITS):  # no limits of its own
        # A demo played with may have more than the plan allows: then it keeps no limits.
        with contextlib.suppress(ServiceError):
            apply_plan(None, plan, customer)


@demo.command("seed")
def seed() -> None:
    """Demo logins (password hostdeck-test-drive) and a local demo server under instance/demo-server/."""
    if current_app.config["HOSTDECK_ENV"] == "production":
        raise click.ClickException(
            "refused: HOSTDECK_ENV is production, and the demo's logins have a published password"
        )
    root = os.path.join(current_app.instance_path, "demo-server")
    created = seed_demo(root)
    click.echo("Demo data created." if created else "Demo data already there.")
    click.echo(f"Demo logins (password {DEMO_PASSWORD}): {', '.join(DEMO_LOGINS)}")
    click.echo(f"The demo server's Dovecot passwd-file: {os.path.join(root, 'dovecot', 'users')}")
    click.echo(f"Its Postfix maps: {os.path.join(root, 'postfix')}/")
    click.echo(f"Its DNS zones: {os.path.join(root, 'bind', 'zones')}/")
