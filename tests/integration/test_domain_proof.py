"""A domain is proven before any server serves it: a TXT record `_hostdeck-challenge.<domain>` holding the
token made for that domain and account, checked against a real DNS server (BIND on loopback); until
then nothing reaches Postfix's maps and nothing may use the domain."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Domain, Operation, utcnow
from portal.orchestration import proof, proving
from portal.services import ServiceError
from portal.services.webapps import create_website
from tests.helpers import (
    account_named,
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

NAME = "brightmail.org"
RECORD = f"_hostdeck-challenge.{NAME}"


@pytest.fixture
def app_config(app_config, bind):
    """The portal asks the test BIND; names under .test count as verified (as in the demo)."""
    return {**app_config, "DNS_RESOLVERS": bind.resolver, "DNS_TIMEOUT": 2.0}


@pytest.fixture
def mx(app, mail_server, postfix):
    with postfix_on(mail_server, postfix):
        yield postfix


@pytest.fixture
def customer(web, make_account, make_staff, mx, bind):
    """Acme logged in, with brightmail.org added through the form and not proven yet; the record is not there."""
    bind.remove(RECORD)
    make_account("Acme")
    make_account("Rival")
    make_staff()
    web.login("acme@owner.test")
    response = web.submit("/domains/", {"name": NAME})
    assert response.status_code == 302, page_text(response)
    return domain_named(NAME)


def in_maps(postfix, map_name: str, key: str) -> str | None:
    return postfix.postmap_query(map_name, key)


def check_now(web, domain: Domain):
    return web.submit(f"/domains/{domain.id}", {}, post_url=f"/domains/{domain.id}/check")


def test_a_new_domain_waits_with_the_exact_record_and_reaches_no_server(web, customer, mx, work):
    assert not proof.proven(customer)
    assert count(Operation) == 0, "an unproven domain records no operations"
    work()
    assert in_maps(mx, "domains", NAME) is None
    page = page_text(web.get(f"/domains/{customer.id}"))
    token = proof.token(customer.account_id, NAME)
    assert RECORD in page and "TXT" in page and token in page
    assert "waiting for proof" in page_text(web.get("/domains/")).lower()


def test_nothing_may_use_an_unproven_domain(web, customer, mx, work):
    refused = new_mailbox(web, "alice", domain=NAME)
    assert refused.status_code == 200
    assert f"{NAME} is not verified yet" in page_text(refused)
    assert mailbox(f"alice@{NAME}") is None
    refused = new_address(web, "", domain=NAME, forwards="someone@example.net", catch_all=True)
    assert f"{NAME} is not verified yet" in page_text(refused)
    with pytest.raises(ServiceError, match="is not verified yet"):
        create_website(customer_actor(), name="Site", domain_ids=[customer.id], with_www=True, mounts=[])
    db.session.rollback()
    work()
    assert count(Operation) == 0
    assert in_maps(mx, "aliases", f"@{NAME}") is None


def test_a_missing_record_or_a_wrong_token_keeps_it_waiting(web, customer, bind, mx, work):
    check_now(web, customer)
    work()
    assert not proof.proven(customer)
    assert "No TXT record" in customer.proof_result
    # Rival's token for the same name proves nothing for Acme.
    bind.set_txt(RECORD, proof.token(account_named("Rival").id, NAME))
    check_now(web, customer)
    work()
    assert not proof.proven(customer)
    assert "not the value" in customer.proof_result
    assert count(Operation) == 0
    assert in_maps(mx, "domains", NAME) is None


def test_the_record_added_later_and_check_now_put_it_on_the_servers(web, customer, bind, mx, work):
    check_now(web, customer)
    work()
    assert not proof.proven(customer)
    bind.set_txt(RECORD, "some other verification=1", proof.token(customer.account_id, NAME))
    check_now(web, customer)
    work()  # the check, then the apply it recorded
    work()
    assert proof.proven(customer)
    assert in_maps(mx, "domains", NAME) == "OK"
    assert "Verified" in page_text(web.get(f"/domains/{customer.id}"))
    # Now mail on it reaches Postfix: a mailbox, and a catch-all with a forward.
    assert new_mailbox(web, "alice", domain=NAME, with_address=True).status_code == 302
    assert new_address(web, "", domain=NAME, forwards="someone@example.net", catch_all=True).status_code == 302
    work()
    assert in_maps(mx, "aliases", f"@{NAME}") == "someone@example.net"
    assert in_maps(mx, "aliases", f"alice@{NAME}") == f"alice@{NAME}"


def test_the_worker_rechecks_on_a_backoff(web, customer, bind, mx, work, queued):
    check_now(web, customer)
    work()
    first = customer.proof_next_check_at - customer.proof_checked_at
    assert first > timedelta(0)
    assert proving.sweep_due() == 0, "not due yet"
    # Time passes: the next check is due, and fails again, so the one after waits longer.
    customer.proof_next_check_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert proving.sweep_due() == 1
    assert proving.sweep_due() == 0, "a check waiting in the queue is not queued twice"
    work()
    assert customer.proof_next_check_at - customer.proof_checked_at > first
    # The customer adds the record; the next due re-check finds it.
    bind.set_txt(RECORD, proof.token(customer.account_id, NAME))
    customer.proof_next_check_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert proving.sweep_due() == 1
    work()
    work()
    assert proof.proven(customer)
    assert customer.proof_next_check_at is None
    assert in_maps(mx, "domains", NAME) == "OK"


def test_a_subdomain_is_verified_with_its_verified_parent(web, customer, bind, mx, work):
    waiting = "shop.brightmail.org"
    assert web.submit("/domains/", {"name": waiting}).status_code == 302
    assert not proof.proven(domain_named(waiting))
    bind.set_txt(RECORD, proof.token(customer.account_id, NAME))
    check_now(web, customer)
    work()
    work()
    assert proof.proven(domain_named(waiting)), "waiting subdomains are verified with their parent"
    assert web.submit("/domains/", {"name": "news.brightmail.org"}).status_code == 302
    assert proof.proven(domain_named("news.brightmail.org")), "a new subdomain is verified at once"
    work()
    for name in (NAME, waiting, "news.brightmail.org"):
        assert in_maps(mx, "domains", name) == "OK"


def test_staff_verify_by_hand_with_a_reason_that_is_audited(web, customer, mx, work):
    page = f"/staff/accounts/{customer.account_id}"
    verify = f"/staff/domains/{customer.id}/verify"
    # The customer cannot.
    assert web.submit(f"/domains/{customer.id}", {"reason": "mine"}, post_url=verify).status_code == 404
    web.logout()
    web.login("staff@hostdeck.test")
    assert RECORD in page_text(web.get(page))
    assert web.submit(page, {"reason": "  "}, post_url=verify).status_code == 302
    assert "Give a reason" in page_text(web.get(page))
    assert not proof.proven(customer)
    assert web.submit(page, {"reason": "ticket 42: registrar letter"}, post_url=verify).status_code == 302
    assert proof.proven(customer)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "domain.verify"))
    assert event.fields["reason"] == "ticket 42: registrar letter"
    assert event.actor_id is not None
    work()
    assert in_maps(mx, "domains", NAME) == "OK"


def test_a_reseller_verifies_its_sub_accounts_domains_by_hand_not_its_own(web, make_account, mx, work):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    make_account("Bakery", parent=reseller, email="owner@bakery.example.net")
    web.login("boss@resell.test")
    assert web.submit("/domains/", {"name": "rival.net"}).status_code == 302
    own = domain_named("rival.net")
    assert (
        web.submit(f"/domains/{own.id}", {"reason": "trust me"}, post_url=f"/domains/{own.id}/verify").status_code
        == 404
    )
    web.submit("/", {"account_id": account_named("Bakery").id}, post_url="/reseller/switch")
    assert web.submit("/domains/", {"name": NAME}).status_code == 302
    theirs = domain_named(NAME)
    assert "Mark as verified" in page_text(web.get(f"/domains/{theirs.id}"))
    done = web.submit(f"/domains/{theirs.id}", {"reason": "contract"}, post_url=f"/domains/{theirs.id}/verify")
    assert done.status_code == 302
    assert proof.proven(theirs) and not proof.proven(own)
    assert db.session.scalar(sa.select(AuditEvent.fields).where(AuditEvent.action == "domain.verify")) == {
        "reason": "contract",
        "how": "by hand",
    }


@pytest.mark.parametrize("demo", [True, False])
def test_reserved_names_count_as_verified_only_where_the_setting_says(app, web, make_account, mx, work, demo):
    app.config["RESERVED_TLDS_VERIFIED"] = demo
    make_account("Acme")
    web.login("acme@owner.test")
    assert web.submit("/domains/", {"name": "acme.test"}).status_code == 302
    assert proof.proven(domain_named("acme.test")) is demo
    work()
    assert (in_maps(mx, "domains", "acme.test") == "OK") is demo


def test_check_now_without_redis_checks_in_the_request(app, customer, bind, web, mx):
    app.config["REDIS_URL"] = ""
    bind.set_txt(RECORD, proof.token(customer.account_id, NAME))
    check_now(web, customer)  # the check, and the apply right after the commit, run in the request
    assert proof.proven(customer)
    assert in_maps(mx, "domains", NAME) == "OK"


def test_resync_leaves_an_unproven_domain_off_the_server(web, customer, mx, mail_server, work):
    web.logout()
    web.login("staff@hostdeck.test")
    web.submit("/staff/servers", {}, post_url=f"/staff/servers/{mail_server.id}/resync")
    work()
    assert in_maps(mx, "domains", NAME) is None
    assert count(Operation, Operation.object_type == "Domain") == 0


def test_check_now_on_another_accounts_domain_is_404(web, customer, make_account):
    web.logout()
    web.login("rival@owner.test")
    assert web.get(f"/domains/{domain_id(NAME)}").status_code == 404
    assert web.submit("/domains/", {}, post_url=f"/domains/{customer.id}/check").status_code == 404
