"""What reaches a server is plain text: every form and every service refuses control, invisible and
line or paragraph separator characters (Unicode Cc, Cf, Zl, Zp), and names a domain only through the
one domain validator, so forwards reach Postfix as A-labels like domains do."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.fields.choices import SelectFieldBase

import portal.blueprints
from portal.blueprints.forms import Form
from portal.extensions import db
from portal.models import Address, Mailbox, Operation
from portal.models.validators import unicode_name
from portal.services import ServiceError, record
from portal.services.addresses import clean_forwards, create_address
from portal.services.databases import create_database, create_user
from portal.services.domains import add_domain
from portal.services.mailboxes import create_mailbox, set_autoreply
from portal.services.resellers import create_sub_account
from portal.services.system_users import clean_keys, create_system_user
from portal.services.webapps import clean_options, create_web_app, create_website
from tests.helpers import (
    count,
    customer_actor,
    domain_id,
    domain_named,
    mailbox,
    new_address,
    new_mailbox,
    page_text,
    postfix_on,
)

# Each of these ends a line somewhere (a Sieve or config parser, a log, a terminal) or hides in a name.
HIDDEN = {"\x85": "U+0085", "\u2028": "U+2028", "\u2029": "U+2029", "\u200b": "U+200B", "\x00": "U+0000"}
REFUSED = (
    "Line breaks and control characters are not allowed",
    "Invisible characters are not allowed",
    "Only ordinary line breaks are allowed",  # in a text of several lines
)


def _portal_forms() -> list[type[FlaskForm]]:
    for module in pkgutil.walk_packages(portal.blueprints.__path__, "portal.blueprints."):
        importlib.import_module(module.name)
    found, todo = [], [FlaskForm]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.startswith("portal."):
                found.append(cls)
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


FORMS = _portal_forms()


def _text_fields() -> list[tuple[type[FlaskForm], str]]:
    fields = []
    for cls in FORMS:
        for name in dir(cls):
            unbound = getattr(cls, name)
            if getattr(unbound, "field_class", None) is not None and issubclass(unbound.field_class, StringField):
                fields.append((cls, name))
    return fields


TEXT_FIELDS = _text_fields()


def test_the_walk_finds_the_forms_and_fields():
    names = {f"{cls.__name__}.{field}" for cls, field in TEXT_FIELDS}
    assert {"AutoreplyForm.subject", "AutoreplyForm.message", "AddressForm.forwards", "DomainForm.name"} <= names
    assert {"SystemUserForm.ssh_keys", "WebAppForm.memory_limit", "WebsiteForm.more_mounts"} <= names
    assert {"DatabaseForm.name", "DatabaseUserForm.name", "SubAccountForm.name", "ImpersonateForm.reason"} <= names


@pytest.mark.parametrize("form_class", FORMS, ids=lambda cls: cls.__name__)
def test_every_form_is_a_plain_text_form(form_class):
    """A new form cannot forget the check: it has to start from the shared Form."""
    assert issubclass(form_class, Form)


def _bound(app, form_class, data: dict[str, str]):
    with app.test_request_context(method="POST", data=data):
        form = form_class()
        for field in form:
            if isinstance(field, SelectFieldBase) and field.choices is None:
                field.choices = []  # views fill these in; the walk only needs the text fields
        form.validate()
        return form


@pytest.mark.parametrize(("form_class", "name"), TEXT_FIELDS, ids=lambda v: v if isinstance(v, str) else v.__name__)
@pytest.mark.parametrize("char", HIDDEN)
def test_every_text_field_refuses_hidden_characters(app, form_class, name, char):
    form = _bound(app, form_class, {name: f"ab{char}cd"})
    field: Field = form[name]
    problems = [e for e in field.errors if e.startswith(REFUSED)]
    assert problems, f"{form_class.__name__}.{name} let {HIDDEN[char]} through: {field.errors}"
    assert HIDDEN[char] in problems[0]


@pytest.mark.parametrize(("form_class", "name"), TEXT_FIELDS, ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_text_areas_keep_ordinary_line_breaks(app, form_class, name):
    form = _bound(app, form_class, {name: "one\r\ntwo\nthree"})
    field = form[name]
    if isinstance(field, TextAreaField):
        assert field.data == "one\ntwo\nthree"
        assert not [e for e in field.errors if "line break" in e or "control" in e]
    else:
        assert any(e.startswith(REFUSED[0]) for e in field.errors)


# Services refuse the same, whoever calls them (the forms, the API, the command line)


@pytest.fixture
def acme_actor(web, make_account):
    make_account("Acme", domains=("acme.test",))
    return customer_actor()


def _site() -> dict:
    return {"name": "Shop", "domain_ids": [domain_id("acme.test")], "with_www": False}


SERVICE_CALLS: dict[str, Callable] = {
    "domain name": lambda a, t: add_domain(a, f"shop{t}.example"),
    "mailbox name": lambda a, t: create_mailbox(
        a, local_part=f"alice{t}", domain_id=domain_id("acme.test"), password="pw-Cobalt-meadow-58", quota_mb=10
    ),
    "address name": lambda a, t: create_address(
        a,
        local_part=f"info{t}",
        catch_all=False,
        domain_id=domain_id("acme.test"),
        mailbox_ids=[],
        forwards=["x@a.org"],
    ),
    "forward": lambda a, t: create_address(
        a,
        local_part="info",
        catch_all=False,
        domain_id=domain_id("acme.test"),
        mailbox_ids=[],
        forwards=[f"x{t}@a.org"],
    ),
    "forward domain": lambda a, t: create_address(
        a,
        local_part="info",
        catch_all=False,
        domain_id=domain_id("acme.test"),
        mailbox_ids=[],
        forwards=[f"x@a.org{t}"],
    ),
    "system user name": lambda a, t: create_system_user(a, name=f"web{t}", password="web-password-1"),
    "ssh keys": lambda a, t: create_system_user(a, name="web", password="web-password-1", ssh_keys=f"ssh-ed25519 {t}"),
    "database name": lambda a, t: create_database(a, engine="mariadb", name=f"blog{t}"),
    "database user name": lambda a, t: create_user(
        a, engine="mariadb", name=f"blog{t}", password="db-password-1", database_ids=[]
    ),
    "web app name": lambda a, t: create_web_app(a, name=f"site{t}", system_user_id=0, kind="static"),
    "website name": lambda a, t: create_website(a, name=f"Shop{t}", domain_ids=[], with_www=False, mounts=[]),
    "website mount": lambda a, t: create_website(a, **_site(), mounts=[(f"/b{t}", 0)]),
    "website certificate": lambda a, t: create_website(a, **_site(), mounts=[], https=True, certificate=t, key="k"),
    "website key": lambda a, t: create_website(a, **_site(), mounts=[], https=True, certificate="c", key=f"k{t}"),
}


MULTILINE = {"ssh keys", "website certificate", "website key"}  # these keep their line breaks
SERVICE_CASES = [
    (what, char)
    for what in SERVICE_CALLS
    for char in ("\x85", "\u2028", "\u200b", "\n")
    if char != "\n" or what not in MULTILINE
]


@pytest.mark.parametrize(("what", "char"), SERVICE_CASES)
def test_every_service_refuses_hidden_characters(acme_actor, what, char):
    before = count(Operation)
    with pytest.raises(ServiceError) as refused:
        SERVICE_CALLS[what](acme_actor, char)
    db.session.rollback()
    assert refused.value.message.startswith(REFUSED), refused.value.message
    assert count(Operation) == before


def test_a_reseller_names_sub_accounts_in_plain_text(app, make_account):
    make_account("Resell", kind="reseller", email="boss@resell.test")
    with pytest.raises(ServiceError, match=re.escape(REFUSED[0])):
        create_sub_account(
            customer_actor("boss@resell.test"),
            name="Bakery\u2028",
            owner_email="o@bakery.example.net",
            emergency_email="help@contact.example.org",
        )


@pytest.mark.parametrize(
    "check",
    [
        lambda: clean_options({"memory_limit": "128M", "date_timezone": "UTC\u2028"}),
        lambda: clean_options({"memory_limit": "128M\x85"}),
        lambda: clean_keys("ssh-ed25519 AAAA\x85"),
        lambda: clean_keys("ssh-ed25519 AAAA comment\u2028ssh-ed25519 BBBB"),
        lambda: clean_forwards(["x@example.org\u2028"]),
    ],
)
def test_edits_share_the_checks(app, check):
    """Changing a web app's options, a system user's keys or an address's forwards goes through these."""
    with pytest.raises(ServiceError) as refused:
        check()
    assert refused.value.message.startswith(REFUSED), refused.value.message


# Forwards reach Postfix as A-labels, like domains


@pytest.fixture
def mx(app, mail_server, postfix):
    with postfix_on(mail_server, postfix):
        yield postfix


@pytest.fixture
def shop(web, make_account, mx, work):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    return mx


def test_a_forward_to_a_unicode_domain_is_written_as_a_labels(web, shop, work):
    response = new_address(web, "orders", forwards="Kunde@Bücher.Example\nuser@ÉCOLE.example")
    assert response.status_code == 302, response.get_data(as_text=True)
    work()
    shop.settle()
    assert shop.postmap_query("aliases", "orders@acme.test") == "kunde@xn--bcher-kva.example, user@xn--cole-9oa.example"
    stored = db.session.scalar(sa.select(Address.forwards).where(Address.local_part == "orders"))
    assert stored == ["kunde@xn--bcher-kva.example", "user@xn--cole-9oa.example"]  # as domains are stored
    # People read them as they wrote them, IDNA 2008 names (faß) included.
    listed = page_text(web.get("/addresses/"))
    assert "kunde@bücher.example" in listed and "user@école.example" in listed
    assert "xn--" not in listed


def test_domains_show_in_unicode_idna_2008_names_included():
    assert unicode_name("xn--fa-hia.de") == "faß.de"
    assert unicode_name("xn--bcher-kva.example") == "bücher.example"
    assert unicode_name("acme.test") == "acme.test"


def test_a_forward_saved_in_unicode_before_reaches_postfix_as_a_labels(web, shop, work):
    """Forwards stored by earlier versions kept the Unicode domain; Postfix still gets A-labels."""
    acme = domain_named("acme.test")
    address = Address(account_id=acme.account_id, domain=acme, local_part="old", forwards=["kunde@bücher.example"])
    db.session.add(address)
    db.session.flush()
    record(address, "save", customer_actor())
    db.session.commit()
    work()
    shop.settle()
    assert shop.postmap_query("aliases", "old@acme.test") == "kunde@xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("forward", "message"),
    [
        ("user@xn--zz.com", "is not a valid domain name"),
        ("user@p\u0430ypal.com", "mixes Latin and Cyrillic"),
        ("user@exa\u200bmple.com", "Invisible characters are not allowed"),
        ("user@co.uk", "public suffix"),
        ("user@192.0.2.1", "IP address"),
        ("user@localhost", "single name"),
    ],
)
def test_forwards_follow_the_domain_rules(web, shop, forward, message):
    before = count(Operation)
    response = new_address(web, "orders", forwards=forward)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(Operation) == before


# The vacation reply: Sieve never gets a separator or control character


@pytest.fixture
def alice(web, make_account, mail_server, work, dovecot):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    assert new_mailbox(web, "alice", with_address=True).status_code == 302
    work()
    return mailbox("alice@acme.test")


def _sieve(dovecot, box: Mailbox):
    return dovecot.mail_root / "acme.test" / box.local_part / ".dovecot.sieve"


def _autoreply(web, box: Mailbox, subject: str, message: str):
    return web.submit(
        f"/mailboxes/{box.id}",
        {"enabled": "y", "subject": subject, "message": message},
        post_url=f"/mailboxes/{box.id}/autoreply",
    )


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize("where", ["subject", "message"])
def test_separators_in_a_vacation_reply_are_refused_by_the_form(web, alice, work, dovecot, char, where):
    before = count(Operation)
    fields = {"subject": "Away", "message": "Back on Monday."}
    fields[where] = f"Away{char}redirect"
    response = _autoreply(web, alice, **fields)
    assert response.status_code == 400  # the mailbox page again, the refusal at its field
    assert f"U+{ord(char):04X}" in response.get_data(as_text=True)
    work()
    assert count(Operation) == before
    assert not _sieve(dovecot, alice).exists()


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029", "\t", "\r"])
@pytest.mark.parametrize("where", ["subject", "message"])
def test_separators_in_a_vacation_reply_are_refused_by_the_service(alice, work, dovecot, char, where):
    fields = {"subject": "Away", "message": "Back on Monday."}
    fields[where] = f"Away{char}redirect"
    with pytest.raises(ServiceError) as refused:
        set_autoreply(customer_actor(), alice.id, enabled=True, start=None, end=None, **fields)
    db.session.rollback()
    assert refused.value.field == where
    assert f"U+{ord(char):04X}" in refused.value.message
    work()
    assert not _sieve(dovecot, alice).exists()


def test_a_vacation_message_keeps_its_line_breaks(web, alice, work, dovecot):
    assert _autoreply(web, alice, "Away", "Back on Monday.\r\n\r\nAlice").status_code == 302
    work()
    assert db.session.get(Mailbox, alice.id).autoreply_message == "Back on Monday.\n\nAlice"
    assert "Back on Monday.\n\nAlice" in _sieve(dovecot, alice).read_text()
