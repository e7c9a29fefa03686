"""A Postfix script asks whether each mailbox has an address of its own name once per domain, not
once per mailbox."""

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Address, Mailbox, Server, Status
from portal.orchestration.backends import get_backend
from portal.orchestration.script import Script, q
from portal.services.mailboxes import create_mailbox
from tests.helpers import counted, customer_actor, domain_id

PASSWORD = "pw-Cobalt-meadow-58"


def make_boxes(name: str, count: int) -> None:
    """box0 ... with an address of its own name on the even ones."""
    for i in range(count):
        create_mailbox(
            customer_actor(f"{name}@owner.test"),
            local_part=f"box{i}",
            domain_id=domain_id(f"{name}.test"),
            password=PASSWORD,
            quota_mb=10,
            with_address=i % 2 == 0,
        )
    db.session.commit()


def saved(name: str) -> tuple[Script, int]:
    """Every mailbox of the domain saved into one Postfix script; and the queries that took."""
    server = db.session.scalars(sa.select(Server)).first()
    boxes = db.session.scalars(sa.select(Mailbox).where(Mailbox.domain_id == domain_id(f"{name}.test"))).all()
    for box in boxes:
        box.address  # noqa: B018 (loaded before the count)
    backend, script = get_backend("postfix"), Script()
    with counted() as seen:
        backend.prepare(script, server)
        for box in boxes:
            backend.save(script, server, box, None)
    return script, len(seen)


def test_one_lookup_for_the_mailboxes_of_a_domain(app, make_account, mailhost):
    make_account("Small", domains=("small.test",))
    make_account("Large", domains=("large.test",))
    make_boxes("small", 3)
    make_boxes("large", 12)
    assert saved("small")[1] == saved("large")[1] <= 1


def test_a_mailbox_is_private_unless_a_live_address_has_its_name(app, make_account, mailhost):
    make_account("Acme", domains=("acme.test",))
    make_boxes("acme", 4)  # box0 and box2 with their own addresses
    gone = db.session.scalars(sa.select(Address).where(Address.local_part == "box2")).one()
    gone.status = Status.DELETING  # on its way out: box2 is private again
    db.session.commit()
    text = saved("acme")[0].text
    private = {i for i in range(4) if f"hp_set private {q(f'box{i}@acme.test')}" in text}
    public = {i for i in range(4) if f"hp_del private {q(f'box{i}@acme.test')}" in text}
    assert (private, public) == ({1, 2, 3}, {0})
