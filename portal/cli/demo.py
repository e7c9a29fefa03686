import os

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import Account, AccountKind, Domain, Role, Route, Server, User, utcnow
from portal.orchestration.operations import record
from portal.security.passwords import hash_password

demo = AppGroup("demo", help="Demo data for `make run`.")
DEMO_PASSWORD = "hostdeck-test-drive"  # noqa: S105 (the demo's published password)
DEMO_LOGINS = ("admin@example.com", "staff@example.com", "reseller@example.com", "customer@example.com")


def seed_demo(root: str) -> bool:
    """Create the demo logins, accounts, domains and a local demo server. False if already there."""
    if db.session.scalar(sa.select(User).where(User.email == DEMO_LOGINS[0])):
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
        },
    )
    db.session.add_all([server, Route(backend="dovecot", server=server), Route(backend="postfix", server=server)])
    db.session.flush()
    for account, name in ((reseller, "reseller.example"), (customer, "example.org"), (customer, "shop.example.org")):
        domain = Domain(account=account, name=name, verified_at=utcnow(), proof_result="Verified: a demo domain.")
        db.session.add(domain)
        db.session.flush()
        record(domain, "save")
    db.session.commit()
    return True


@demo.command("seed")
def seed() -> None:
    """Demo logins (password hostdeck-test-drive) and a local demo server under instance/demo-server/."""
    root = os.path.join(current_app.instance_path, "demo-server")
    created = seed_demo(root)
    click.echo("Demo data created." if created else "Demo data already there.")
    click.echo(f"Demo logins (password {DEMO_PASSWORD}): {', '.join(DEMO_LOGINS)}")
    click.echo(f"The demo server's Dovecot passwd-file: {os.path.join(root, 'dovecot', 'users')}")
    click.echo(f"Its Postfix maps: {os.path.join(root, 'postfix')}/")
