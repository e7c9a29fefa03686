"""A resync and a suspension ask the database a number of times that does not grow with the objects."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Mailbox, Operation, OpState, Placement
from portal.security.scoping import Actor
from portal.services.mailboxes import create_mailbox
from portal.services.orchestration import resync_server
from portal.services.resellers import set_suspended
from tests.helpers import add_server, counted, customer_actor, domain_id, local_mail_server

PASSWORD = "pw-Cobalt-meadow-58"


@pytest.fixture
def accounts(app, make_account, tmp_path):
    """Two accounts on their own server each, with 3 and 12 mailboxes."""
    found = {}
    for name, boxes in (("Small", 3), ("Large", 12)):
        server = add_server(local_mail_server(f"mail-{name}", tmp_path / name), "dovecot")
        account = make_account(name, domains=(f"{name.lower()}.test",))
        db.session.add(Placement(account_id=account.id, server_id=server.id))
        db.session.commit()
        for i in range(boxes):
            create_mailbox(
                customer_actor(f"{name.lower()}@owner.test"),
                local_part=f"box{i}",
                domain_id=domain_id(f"{name.lower()}.test"),
                password=PASSWORD,
                quota_mb=10,
            )
        db.session.commit()
        found[name] = (account.id, server.id)
    return found


def test_a_resync_asks_the_same_whatever_the_count(accounts, make_staff):
    staff = Actor(user=make_staff())
    queries = {}
    for name, (_, server_id) in accounts.items():
        db.session.expire_all()
        with counted() as seen:
            resync_server(staff, server_id)
            db.session.flush()
        queries[name] = len(seen)
        db.session.commit()
    assert queries["Small"] == queries["Large"], queries
    assert db.session.scalar(sa.select(sa.func.count()).where(Operation.state == OpState.PENDING)) >= 15


def test_a_suspension_asks_the_same_whatever_the_count(accounts, make_staff):
    staff = Actor(user=make_staff())
    queries = {}
    for name, (account_id, _) in accounts.items():
        db.session.expire_all()
        account = db.session.get(Account, account_id)
        with counted() as seen:
            set_suspended(staff, account, True)
            db.session.flush()
        queries[name] = len(seen)
        db.session.commit()
    assert queries["Small"] == queries["Large"], queries
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Mailbox)) == 15
