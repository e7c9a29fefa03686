"""Placement: a backend routed to many servers shares the accounts out among them."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Domain, Operation, Placement
from portal.security.scoping import Actor
from portal.services import ServiceError
from portal.services.mailboxes import create_mailbox
from portal.services.orchestration import resync_server
from tests.helpers import add_server, customer_actor, domain_id, local_mail_server

PASSWORD = "pw-Cobalt-meadow-58"


@pytest.fixture
def two_servers(app, tmp_path):
    return [add_server(local_mail_server(name, tmp_path / name), "dovecot") for name in ("mail1", "mail2")]


def new_box(email: str, domain: str, local_part: str) -> set[str]:
    before = set(db.session.scalars(sa.select(Operation.id)))
    create_mailbox(
        customer_actor(email), local_part=local_part, domain_id=domain_id(domain), password=PASSWORD, quota_mb=10
    )
    db.session.commit()
    new = db.session.scalars(sa.select(Operation).where(Operation.id.not_in(before))).all()
    return {op.server.name for op in new if op.object_type == "Mailbox"}


def test_an_unplaced_account_goes_to_every_routed_server(make_account, two_servers):
    make_account("Acme", domains=("acme.test",))
    assert new_box("acme@owner.test", "acme.test", "alice") == {"mail1", "mail2"}


def test_a_placed_account_goes_only_where_it_is_placed(make_account, two_servers):
    acme = make_account("Acme", domains=("acme.test",))
    db.session.add(Placement(account_id=acme.id, server_id=two_servers[1].id))
    db.session.commit()
    assert new_box("acme@owner.test", "acme.test", "alice") == {"mail2"}


def test_a_sub_account_follows_its_reseller_unless_placed_itself(make_account, two_servers):
    reseller = make_account("Resell", kind="reseller")
    follows = make_account("Follows", parent=reseller, domains=("follows.test",))
    own = make_account("Own", parent=reseller, domains=("own.test",))
    db.session.add_all(
        [
            Placement(account_id=reseller.id, server_id=two_servers[0].id),
            Placement(account_id=own.id, server_id=two_servers[1].id),
        ]
    )
    db.session.commit()
    assert follows.parent_id == reseller.id
    assert new_box("follows@owner.test", "follows.test", "bob") == {"mail1"}
    assert new_box("own@owner.test", "own.test", "carol") == {"mail2"}


def test_placed_on_no_server_of_the_backend_is_refused_in_words(make_account, two_servers, tmp_path):
    acme = make_account("Acme", domains=("acme.test",))
    web = add_server(local_mail_server("web1", tmp_path / "web1"), "unix")
    db.session.add(Placement(account_id=acme.id, server_id=web.id))
    db.session.commit()
    with pytest.raises(ServiceError, match="No server is set up for this yet"):
        new_box("acme@owner.test", "acme.test", "alice")


def test_a_resync_re_applies_only_the_accounts_placed_there_or_nowhere(make_account, make_staff, two_servers):
    placed = make_account("Placed", domains=("placed.test",))
    elsewhere = make_account("Elsewhere", domains=("elsewhere.test",))
    everywhere = make_account("Everywhere", domains=("everywhere.test",))
    db.session.add_all(
        [
            Placement(account_id=placed.id, server_id=two_servers[0].id),
            Placement(account_id=elsewhere.id, server_id=two_servers[1].id),
        ]
    )
    db.session.commit()
    for name in ("placed", "elsewhere", "everywhere"):
        new_box(f"{name}@owner.test", f"{name}.test", "box")
    staff = make_staff()
    before = set(db.session.scalars(sa.select(Operation.id)))
    assert resync_server(Actor(user=staff), two_servers[0].id) == 2
    db.session.commit()
    again = db.session.scalars(sa.select(Operation).where(Operation.id.not_in(before))).all()
    assert {op.account_id for op in again} == {placed.id, everywhere.id}
    assert {op.server_id for op in again} == {two_servers[0].id}


def test_the_operator_places_an_account_before_it_has_services(app, make_account, two_servers):
    """`flask accounts place`: the new account's mailboxes go to mail2 only; once it has services its
    placement is refused in one line (nothing moves what a server holds), and the audit trail has it."""
    runner = app.test_cli_runner()
    acme = make_account("Acme")
    placed = runner.invoke(args=["accounts", "place", "Acme", "mail2"])
    assert placed.exit_code == 0 and placed.output == "Acme is placed on mail2\n", placed.output
    unknown = runner.invoke(args=["accounts", "place", "Acme", "mail9"])
    assert unknown.exit_code == 1 and unknown.output == "Error: no server named 'mail9'\n"
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "account.place")).all()
    assert [e.fields["servers"] for e in events] == [["mail2"]] and events[0].account_id == acme.id

    db.session.add(Domain(account=acme, name="acme.test"))
    db.session.commit()
    assert new_box("acme@owner.test", "acme.test", "alice") == {"mail2"}
    for args in (["accounts", "place", "Acme", "mail1"], ["accounts", "unplace", "Acme", "mail2"]):
        refused = runner.invoke(args=args)
        assert refused.exit_code == 1 and refused.output.count("\n") == 1, refused.output
        assert "already has services" in refused.output
    assert [p.server_id for p in db.session.scalars(sa.select(Placement))] == [two_servers[1].id]
