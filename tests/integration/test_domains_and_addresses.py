"""Domains and addresses through the forms, applied in-process to a local server's map files."""

import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Address, Domain, Mailbox, Operation, Status
from portal.services import ServiceError
from portal.services.addresses import create_address
from tests.helpers import (
    count,
    customer_actor,
    domain_id,
    domain_named,
    mailbox,
    new_address,
    new_mailbox,
    page_text,
)
from tests.testbed.plugin import need


@pytest.fixture
def app_config():
    return {}  # no Redis: applied in-process, right after each request


@pytest.fixture
def acme(web, make_account, mailhost):
    make_account("Acme", domains=("acme.test",))
    make_account("Globex", domains=("globex.test",))
    web.login("acme@owner.test")
    return mailhost


def mapping(root: Path, name: str) -> dict[str, str]:
    path = root / "postfix" / name
    if not path.exists():
        return {}
    return dict(line.split(" ", 1) for line in path.read_text().splitlines())


def add_domain(web, name):
    return web.submit("/domains/", {"name": name})


# Domains


def test_domain_is_stored_as_idna_and_shown_in_unicode(web, acme):
    assert add_domain(web, "Bücher.Example").status_code == 302
    domain = domain_named("xn--bcher-kva.example")
    assert domain.status == Status.APPLIED
    assert mapping(acme, "domains")["xn--bcher-kva.example"] == "OK"
    assert "bücher.example" in web.get("/domains/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("globex.test", "globex.test is already taken."),
        ("acme.test", "You already have acme.test."),
        ("shop.globex.test", "overlaps globex.test, which another account uses."),
        ("-bad.example", "is not a valid domain name"),
        ("bad_label.example", "is not a valid domain name"),
        ("exa mple.com", "is not a valid domain name"),
        (".".join(["a" * 63] * 3 + ["b" * 58, "example"]), "A domain name has at most 253 characters."),
    ],
)
def test_bad_or_taken_domains_are_refused(web, acme, name, message):
    before = count(Domain), count(Operation)
    response = add_domain(web, name)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert (count(Domain), count(Operation)) == before


def test_parent_of_a_foreign_domain_is_refused_without_naming_it(web, make_account, acme):
    # Another tenant's subdomain may be unpublished: adding the parent must not list it.
    make_account("Initech", domains=("hidden-launch.initech.test",))
    text = page_text(add_domain(web, "initech.test"))
    assert "initech.test overlaps a domain another account uses." in text
    assert "hidden-launch" not in text


def test_domain_in_use_is_not_deleted_and_the_page_says_why(web, acme):
    new_mailbox(web, "alice", with_address=True)
    domain = domain_named("acme.test")
    domain_id_, status = domain.id, domain.status
    page = web.get(f"/domains/{domain.id}/delete").get_data(as_text=True)
    assert "1 mailboxes: alice@acme.test" in page and "1 addresses: alice@acme.test" in page
    response = web.submit(f"/domains/{domain.id}/delete", {})
    assert "still used by" in response.get_data(as_text=True)
    assert db.session.get(Domain, domain.id).status == status != Status.DELETING

    web.submit(f"/mailboxes/{mailbox('alice@acme.test').id}/delete", {})
    assert count(Address) == 0  # its own address went with it
    assert web.submit(f"/domains/{domain_id_}/delete", {}).status_code == 302
    assert db.session.scalar(sa.select(Domain).where(Domain.id == domain_id_)) is None
    assert "acme.test" not in mapping(acme, "domains")


# Addresses


def test_mailbox_comes_with_its_address(web, acme):
    new_mailbox(web, "alice", with_address=True)
    box = mailbox("alice@acme.test")
    assert [a.key for a in box.addresses] == ["alice@acme.test"]
    assert mapping(acme, "aliases") == {"alice@acme.test": "alice@acme.test"}
    assert mapping(acme, "mailboxes") == {"alice@acme.test": "alice@acme.test"}
    assert mapping(acme, "private") == {}


def test_mailbox_without_address_is_private(web, acme):
    new_mailbox(web, "vault")
    assert mapping(acme, "aliases") == {}
    assert mapping(acme, "private")["vault@acme.test"].startswith("REJECT")
    new_address(web, "vault", mailboxes=["vault@acme.test"])
    assert mapping(acme, "private") == {}


def test_address_with_mailboxes_and_forwards(web, acme):
    new_mailbox(web, "alice", with_address=True)
    new_mailbox(web, "bob", with_address=True)
    response = new_address(
        web,
        "Sales",
        mailboxes=["alice@acme.test", "bob@acme.test"],
        forwards="Boss@Example.NET\n\nboss@example.net\nteam@example.org",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    line = mapping(acme, "aliases")["sales@acme.test"]
    assert line == "alice@acme.test, bob@acme.test, boss@example.net, team@example.org"
    page = web.get(f"/mailboxes/{mailbox('bob@acme.test').id}").get_data(as_text=True)
    assert "sales@acme.test" in page  # the mailbox page lists what delivers to it
    listing = web.get("/addresses/").get_data(as_text=True)
    assert "boss@example.net" in listing


def test_catch_all(web, acme):
    new_mailbox(web, "alice", with_address=True)
    response = new_address(web, local="", catch_all=True, mailboxes=["alice@acme.test"])
    assert response.status_code == 302
    assert mapping(acme, "aliases")["@acme.test"] == "alice@acme.test"
    again = new_address(web, local="", catch_all=True, forwards="x@example.net")
    assert "The catch-all for acme.test already exists." in again.get_data(as_text=True)


def test_editing_and_deleting_an_address(web, acme):
    new_mailbox(web, "alice", with_address=True)
    new_address(web, "info", forwards="a@example.net")
    address_id = db.session.scalar(sa.select(Address.id).where(Address.local_part == "info"))
    web.submit(f"/addresses/{address_id}", {"mailbox_ids": [mailbox("alice@acme.test").id], "forwards": ""})
    assert mapping(acme, "aliases")["info@acme.test"] == "alice@acme.test"
    web.submit(f"/addresses/{address_id}/delete", {})
    assert "info@acme.test" not in mapping(acme, "aliases")
    assert db.session.scalar(sa.select(Address).where(Address.id == address_id)) is None


@pytest.mark.parametrize(
    ("local", "forwards", "message"),
    [
        ("a,b", "x@example.net", "Use only letters"),
        ("a b", "x@example.net", "Use only letters"),
        ("a\nb", "x@example.net", "Line breaks and control characters are not allowed (U+000A)"),
        ("info", "x@example.net\u2028y@example.net", "Only ordinary line breaks are allowed"),
        ("info", "x@p\u0430ypal.com", "mixes Latin and Cyrillic letters"),
        ("a:b", "x@example.net", "Use only letters"),
        ("a#b", "x@example.net", "Use only letters"),
        ("info", "x@example.net, y@example.net", "is not one e-mail address"),
        ("info", "x y@example.net", "is not one e-mail address"),
        ("info", "not-an-address", "not-an-address:"),
        ("info", "\n".join(f"u{i}@example.net" for i in range(21)), "At most 20 forward addresses."),
        ("info", "info@acme.test", "in a circle"),
        ("info", "", "Choose a mailbox or enter a forward address."),
    ],
)
def test_bad_addresses_are_refused(web, acme, local, forwards, message):
    before = count(Address), count(Operation)
    response = new_address(web, local, forwards=forwards)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert (count(Address), count(Operation)) == before


def test_forward_loops_through_other_addresses_are_refused(web, acme):
    new_address(web, "a", forwards="b@acme.test")
    response = new_address(web, "b", forwards="c@example.net\na@acme.test")
    assert "in a circle" in response.get_data(as_text=True)


# Tenancy


@pytest.fixture
def foreign(web, make_account, acme):
    """Globex's mailbox, address and domain."""
    globex = domain_named("globex.test")
    box = Mailbox(account_id=globex.account_id, domain=globex, local_part="boss", status=Status.APPLIED)
    address = Address(
        account_id=globex.account_id, domain=globex, local_part="ceo", forwards=["x@example.net"], status=Status.APPLIED
    )
    db.session.add_all([box, address])
    db.session.commit()
    return {"domain": globex, "mailbox": box, "address": address}


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/domains/{id}/delete", "domain"),
        ("POST", "/domains/{id}/delete", "domain"),
        ("GET", "/addresses/{id}", "address"),
        ("POST", "/addresses/{id}", "address"),
        ("GET", "/addresses/{id}/delete", "address"),
        ("POST", "/addresses/{id}/delete", "address"),
    ],
)
def test_foreign_domains_and_addresses_are_404(web, foreign, method, path, kind):
    def call(object_id):
        url = path.format(id=object_id)
        return web.get(url) if method == "GET" else web.submit("/domains/", {"forwards": "x@example.net"}, post_url=url)

    theirs, missing = call(foreign[kind].id), call(987654)
    assert theirs.status_code == missing.status_code == 404
    assert page_text(theirs) == page_text(missing)
    assert count(Operation) == 0


def test_foreign_mailbox_as_destination_is_refused(web, foreign):
    before = count(Address), count(Operation)
    response = new_address(web, "steal", mailboxes=["boss@globex.test"])
    assert response.status_code == 200
    assert "is not a valid choice" in response.get_data(as_text=True)  # not even offered
    with pytest.raises(ServiceError, match=r"Choose only your own mailboxes\."):
        create_address(
            customer_actor(),
            local_part="steal",
            catch_all=False,
            domain_id=domain_id("acme.test"),
            mailbox_ids=[foreign["mailbox"].id],
            forwards=[],
        )
    db.session.rollback()
    assert (count(Address), count(Operation)) == before


def test_foreign_names_are_not_listed(web, foreign):
    assert "globex" not in web.get("/domains/").get_data(as_text=True)
    assert "ceo@" not in web.get("/addresses/").get_data(as_text=True)
    status = web.get(f"/addresses/status?ids={foreign['address'].id}").get_json()
    assert status == {str(foreign["address"].id): {"status": "gone", "error": ""}}


# Autoresponder

HOSTILE = 'Back soon";\ndiscard;\nredirect "evil@example.net'


def test_autoreply_is_a_sieve_string_the_message_cannot_leave(web, acme):
    new_mailbox(web, "alice", with_address=True)
    box = mailbox("alice@acme.test")
    response = web.submit(
        f"/mailboxes/{box.id}",
        {"enabled": "y", "subject": 'Away "now"', "message": HOSTILE, "start": "2026-01-01", "end": "2099-12-31"},
        post_url=f"/mailboxes/{box.id}/autoreply",
    )
    assert response.status_code == 302
    sieve = acme / "vmail" / "acme.test" / "alice" / ".dovecot.sieve"
    text = sieve.read_text()
    assert 'currentdate :value "le" "date" "2099-12-31"' in text
    assert '"Back soon\\";\ndiscard;\nredirect \\"evil@example.net"' in text
    assert text.count("discard") == 1 and "\ndiscard;" in text  # only inside the string
    web.submit(f"/mailboxes/{box.id}", {"subject": "x", "message": ""}, post_url=f"/mailboxes/{box.id}/autoreply")
    assert not sieve.exists()


def test_autoreply_dates_must_be_in_order(web, acme):
    new_mailbox(web, "alice", with_address=True)
    box = mailbox("alice@acme.test")
    response = web.submit(
        f"/mailboxes/{box.id}",
        {"enabled": "y", "message": "away", "start": "2026-05-02", "end": "2026-05-01"},
        post_url=f"/mailboxes/{box.id}/autoreply",
    )
    assert "The end date comes before the start date." in response.get_data(as_text=True)


def test_sieve_compiles_when_pigeonhole_is_here(web, acme):
    need(shutil.which("sievec"), "sievec (dovecot-sieve)")
    new_mailbox(web, "alice", with_address=True)
    box = mailbox("alice@acme.test")
    web.submit(
        f"/mailboxes/{box.id}",
        {"enabled": "y", "subject": "s", "message": HOSTILE},
        post_url=f"/mailboxes/{box.id}/autoreply",
    )
    sieve = acme / "vmail" / "acme.test" / "alice" / ".dovecot.sieve"
    result = subprocess.run(["sievec", str(sieve), str(sieve) + ".svbin"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
