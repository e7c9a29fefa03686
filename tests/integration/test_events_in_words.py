"""Audit events read as whole sentences: every kind has its noun, every action the code audits its
words, and an impersonation says how it ended; what the event stored (names, reasons) stays as written."""

import re
from pathlib import Path

import pytest

from portal.blueprints.events import DONE, FIELDS, _nouns, describe_event, event_actor
from portal.models import AuditEvent, Role, User
from portal.models.kinds import KINDS

PORTAL = Path(__file__).resolve().parents[2] / "portal"
# audit(actor, "mailbox.quota", ...), audit(actor, f"{object_type.lower()}.retry", ...), _audit("user.locale"): the verb.
AUDITED = re.compile(r'\b_?audit\(\s*(?:[^,"]+,\s*)?f?"[^"]*\.([a-z_]+)"', re.S)
# The rows events name besides the provisioned kinds.
OTHER_ROWS = ("User", "Account", "Plan", "Server", "BackendLog")


def event(action: str, object_type: str = "", name: str = "", **kwargs) -> AuditEvent:
    return AuditEvent(action=action, object_type=object_type, object_name=name, **kwargs)


def audited_verbs() -> set[str]:
    verbs = {"save", "delete"}  # orchestration.operations.record() audits "<kind>.<action>"
    for path in PORTAL.rglob("*.py"):
        verbs.update(AUDITED.findall(path.read_text()))
    return verbs


def test_every_kind_and_row_events_name_has_its_words(app):
    assert {k.name for k in KINDS} | set(OTHER_ROWS) <= set(_nouns())
    assert describe_event(event("databaseuser.save", "DatabaseUser", "shop_app")) == "Database user shop_app saved"
    assert describe_event(event("log.retry", "BackendLog", "7", fields={"objects": 2})) == (
        "Backend log 7 retried with the current state: objects 2"
    )


def test_every_action_the_code_audits_has_a_sentence(app):
    verbs = audited_verbs()
    assert {"quota", "verify", "locale", "password_link", "two_factor_reset"} <= verbs  # the scan finds them
    assert verbs <= set(DONE), f"no words in blueprints/events.py DONE for: {sorted(verbs - set(DONE))}"


@pytest.mark.parametrize(
    ("action", "object_type", "fields", "words"),
    [
        ("mailbox.save", "Mailbox", {"password_changed": True}, "Mailbox info@acme.test saved (new password)"),
        (
            "mailbox.quota",
            "Mailbox",
            {"quota_mb": 200, "was": 100},
            "Mailbox info@acme.test: quota changed: quota (MB) 200, was 100",
        ),
        ("domain.save", "Domain", {"waiting_for_proof": True}, "Domain info@acme.test saved: waiting for proof yes"),
        (
            "user.password_link",
            "User",
            {"to": "info@acme.test"},
            "Login info@acme.test: a set-password link was sent: to info@acme.test",
        ),
        ("user.locale", "User", {"locale": "es"}, "Login info@acme.test: language changed: language es"),
        ("widget.frobnicate", "Widget", {}, "Widget info@acme.test: frobnicate"),
    ],
)
def test_an_event_reads_as_one_sentence(app, action, object_type, fields, words):
    assert describe_event(event(action, object_type, "info@acme.test", fields=fields)) == words


def test_an_event_without_a_name_starts_with_a_capital(app):
    assert describe_event(event("account.act_inside")) == "Account entered by its reseller"


@pytest.mark.parametrize(
    ("ended", "minutes", "words"),
    [
        ("stopped", 1, "Support (staff@hostdeck.test) left your account after 1 minute. The reason was: ticket 7"),
        ("stopped", 5, "Support (staff@hostdeck.test) left your account after 5 minutes. The reason was: ticket 7"),
        (
            "ended after 60 minutes",
            60,
            (
                "Support (staff@hostdeck.test) left your account after 60 minutes, when the time was up. "
                "The reason was: ticket 7"
            ),
        ),
        (
            "ended: the permission is gone",
            3,
            (
                "Support (staff@hostdeck.test) left your account after 3 minutes, when the permission was gone. "
                "The reason was: ticket 7"
            ),
        ),
    ],
)
def test_an_impersonation_says_how_it_ended(app, ended, minutes, words):
    fields = {"by": "staff@hostdeck.test", "reason": "ticket 7", "ended": ended, "minutes": minutes}
    stop = event("impersonation.stop", "User", "acme@owner.test", account_id=5, fields=fields)
    assert describe_event(stop, own_account_id=5) == words


def test_who_names_both_people_while_impersonating(app):
    customer = User(email="acme@owner.test", role=Role.OWNER)
    reseller = User(email="boss@reseller.test", role=Role.OWNER)
    staff = User(email="staff@hostdeck.test", role=Role.STAFF)
    assert event_actor(event("mailbox.save", actor=customer, real_actor=staff)) == (
        "staff@hostdeck.test (support) as acme@owner.test"
    )
    assert event_actor(event("mailbox.save", actor=customer, real_actor=reseller)) == (
        "boss@reseller.test (reseller) as acme@owner.test"
    )
    assert event_actor(event("mailbox.save")) == "Hostdeck"
    start = event("impersonation.start", real_actor=reseller, fields={"by": "boss@reseller.test", "reason": "help"})
    assert describe_event(start, own_account_id=1) == "Your reseller (boss@reseller.test) accessed the account: help"


def test_field_names_have_words(app):
    assert {"quota_mb", "waiting_for_proof", "timezone", "locale"} <= set(FIELDS)
