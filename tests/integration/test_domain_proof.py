"""A domain is proven before any server serves it: a TXT record `_hostdeck-challenge.<domain>` holding the
token made for that domain and account, checked against a real DNS server (BIND on loopback); until
then nothing reaches Postfix's maps and nothing may use the domain."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.extensions import db
from portal.models import AuditEvent, Domain, Operation, Route, Status, utcnow
from portal.orchestration import proof, proving
from portal.orchestration.proof import ProofCode, proof_words
from portal.services import ServiceError
from portal.services.webapps import create_website
from tests.helpers import (
    Web,
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
    user_named,
)

NAME = "brightmail.org"
RECORD = f"_hostdeck-challenge.{NAME}"


@pytest.fixture
def app_config(app_config, bind):
    """The portal asks the test BIND; names under .test count as verified (as in the demo); "Check now"
    may be pressed again at once (the throttling tests set the interval)."""
    return {**app_config, "DNS_RESOLVERS": bind.resolver, "DNS_TIMEOUT": 2.0, "PROOF_CHECK_INTERVAL": 0}


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
    assert customer.proof_code in (ProofCode.NXDOMAIN, ProofCode.NO_TXT)
    assert "No TXT record" in proof_words(customer)
    # Rival's token for the same name proves nothing for Acme.
    rivals = proof.token(account_named("Rival").id, NAME)
    bind.set_txt(RECORD, rivals)
    check_now(web, customer)
    work()
    assert not proof.proven(customer)
    assert (customer.proof_code, customer.proof_args) == (ProofCode.WRONG_VALUE, {"values": [rivals]})
    assert "not the value" in proof_words(customer)
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


def test_an_operator_may_keep_resellers_from_vouching(app, web, make_account, mx, work):
    """A reseller is a tenant too: where the operator says so, only DNS or staff prove a name."""
    app.config["RESELLERS_VERIFY_DOMAINS"] = False
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    make_account("Bakery", parent=reseller, email="owner@bakery.example.net")
    web.login("boss@resell.test")
    web.submit("/", {"account_id": account_named("Bakery").id}, post_url="/reseller/switch")
    assert web.submit("/domains/", {"name": NAME}).status_code == 302
    theirs = domain_named(NAME)
    assert "Mark as verified" not in page_text(web.get(f"/domains/{theirs.id}"))
    refused = web.submit(f"/domains/{theirs.id}", {"reason": "trust me"}, post_url=f"/domains/{theirs.id}/verify")
    assert refused.status_code == 404
    work()
    assert not proof.proven(theirs) and in_maps(mx, "domains", NAME) is None


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


# Squatting: a waiting claim blocks nobody; the first account to prove the name has it.


def claim(account: str, name: str = NAME) -> Domain:
    """The account's own row for the name (several accounts may claim one name while it waits)."""
    found = db.session.scalar(
        sa.select(Domain).where(Domain.name == name, Domain.account_id == account_named(account).id)
    )
    assert found is not None, f"{account} has no claim on {name}"
    return found


@pytest.fixture
def rival(app, customer):
    """Rival, logged in on a client of its own, with a waiting claim on the same name as Acme's."""
    client = Web(app.test_client())
    client.login("rival@owner.test")
    response = client.submit("/domains/", {"name": NAME})
    assert response.status_code == 302, page_text(response)
    return client


def test_a_waiting_claim_blocks_nobody_and_each_claim_has_its_own_token(web, customer, rival):
    acme, theirs = claim("Acme"), claim("Rival")
    assert acme.id != theirs.id and not proof.proven(acme) and not proof.proven(theirs)
    acme_page, rival_page = page_text(web.get(f"/domains/{acme.id}")), page_text(rival.get(f"/domains/{theirs.id}"))
    assert proof.token(acme.account_id, NAME) in acme_page and proof.token(theirs.account_id, NAME) in rival_page
    assert proof.token(theirs.account_id, NAME) not in acme_page
    # Within one account a name is still there once.
    again = web.submit("/domains/", {"name": NAME})
    assert again.status_code == 200 and f"You already have {NAME}." in page_text(again)


def test_the_first_account_to_prove_the_name_wins(app, web, customer, rival, bind, mx, work):
    bind.set_txt(RECORD, proof.token(account_named("Rival").id, NAME))
    check_now(rival, claim("Rival"))
    work()
    work()
    assert proof.proven(claim("Rival"))
    assert in_maps(mx, "domains", NAME) == "OK"
    # Acme's claim is over: it says so without naming who, is no longer looked at, and can only go.
    lost = claim("Acme")
    assert not proof.proven(lost) and lost.proof_next_check_at is None
    page = page_text(web.get(f"/domains/{lost.id}"))
    assert "Another account has proved" in page and "Rival" not in page
    assert "Check now" not in page
    # Even with Acme's token in DNS too, Acme's check and staff's hand cannot take the name.
    bind.set_txt(RECORD, proof.token(account_named("Rival").id, NAME), proof.token(lost.account_id, NAME))
    refused = check_now(web, lost)
    assert refused.status_code == 302
    work()
    assert "Another account has proved" in page_text(web.get(f"/domains/{lost.id}"))
    assert not proof.proven(claim("Acme"))
    staff = Web(app.test_client())
    staff.login("staff@hostdeck.test")
    page = f"/staff/accounts/{lost.account_id}"
    done = staff.submit(page, {"reason": "ticket 7"}, post_url=f"/staff/domains/{lost.id}/verify")
    assert done.status_code == 302
    assert "Another account has proved" in page_text(staff.get(page))
    assert not proof.proven(claim("Acme"))
    assert web.submit(f"/domains/{lost.id}/delete", {}).status_code == 302
    assert count(Domain, Domain.name == NAME) == 1
    work()
    assert in_maps(mx, "domains", NAME) == "OK", "Rival's domain stays on the server"


def test_a_name_another_account_proved_is_refused_without_saying_whose(web, customer, rival, bind, work):
    bind.set_txt(RECORD, proof.token(account_named("Rival").id, NAME))
    check_now(rival, claim("Rival"))
    work()
    web.submit(f"/domains/{claim('Acme').id}/delete", {})
    for name, words in ((NAME, f"{NAME} is already taken."), (f"shop.{NAME}", f"overlaps {NAME}")):
        refused = web.submit("/domains/", {"name": name})
        assert refused.status_code == 200 and words in page_text(refused)
        assert "Rival" not in page_text(refused)
    assert count(Domain, Domain.account_id == account_named("Acme").id) == 0


def test_proving_a_name_above_or_below_another_accounts_verified_domain_is_refused(web, customer, rival, bind, work):
    sub, sub_record = f"shop.{NAME}", f"_hostdeck-challenge.shop.{NAME}"
    assert web.submit("/domains/", {"name": sub}).status_code == 302, "only verified domains overlap"
    # Rival proves the parent: Acme's claims on it and below it are both over.
    bind.set_txt(RECORD, proof.token(account_named("Rival").id, NAME))
    bind.set_txt(sub_record, proof.token(customer.account_id, sub))
    check_now(rival, claim("Rival"))
    work()
    work()
    assert proof.proven(claim("Rival"))
    check_now(web, claim("Acme", sub))
    work()
    assert not proof.proven(claim("Acme", sub))
    assert (claim("Acme", sub).proof_code, claim("Acme", sub).proof_args) == (ProofCode.LOST_ABOVE, {"other": NAME})
    assert f"Another account has proved {NAME}, which overlaps {sub}." in proof_words(claim("Acme", sub))
    bind.remove(sub_record)


def test_proving_a_parent_of_another_accounts_verified_subdomain_is_refused(web, customer, rival, bind, work):
    sub, sub_record = f"shop.{NAME}", f"_hostdeck-challenge.shop.{NAME}"
    assert rival.submit("/domains/", {"name": sub}).status_code == 302
    bind.set_txt(sub_record, proof.token(account_named("Rival").id, sub))
    check_now(rival, claim("Rival", sub))
    work()
    work()
    assert proof.proven(claim("Rival", sub))
    bind.set_txt(RECORD, proof.token(customer.account_id, NAME))
    check_now(web, claim("Acme"))
    work()
    assert not proof.proven(claim("Acme"))
    assert (claim("Acme").proof_code, claim("Acme").proof_args) == (ProofCode.LOST_BELOW, {})
    assert "Another account has proved a domain under" in proof_words(claim("Acme"))
    bind.remove(sub_record)


def test_two_verified_rows_of_one_name_cannot_exist(customer, rival):
    """The database holds the rule too: a name is unique among verified domains."""
    claim("Acme").verified_at = utcnow()
    db.session.flush()
    claim("Rival").verified_at = utcnow()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("demo", [True, False])
def test_reserved_names_behave_like_verified_ones_where_they_count(app, web, make_account, mx, demo):
    app.config["RESERVED_TLDS_VERIFIED"] = demo
    make_account("Acme")
    make_account("Rival")
    web.login("acme@owner.test")
    assert web.submit("/domains/", {"name": "acme.test"}).status_code == 302
    web.logout()
    web.login("rival@owner.test")
    second = web.submit("/domains/", {"name": "acme.test"})
    if demo:
        assert second.status_code == 200 and "acme.test is already taken." in page_text(second)
        assert claim("Acme", "acme.test").verified_at is not None, "held by the unique index too"
    else:
        assert second.status_code == 302, "neither is verified: both may wait"


# The forms that use domains say which still wait.


def test_forms_mark_the_domains_that_wait_for_proof(web, customer, make_account, mail_server):
    db.session.add(Domain(account_id=customer.account_id, name="acme.test"))
    db.session.add(Route(backend="nginx", server=mail_server))  # the website form shows once a server offers it
    db.session.commit()
    for form in ("/mailboxes/new", "/addresses/new", "/websites/new"):
        page = page_text(web.get(form))
        assert f"{NAME} (waiting for proof)" in page, form
        assert "acme.test (waiting" not in page and "acme.test" in page, form


# "Check now" is throttled: per domain, and per login and per IP.


def test_check_now_twice_in_a_row_is_refused_with_429(app, web, customer, queued):
    app.config["PROOF_CHECK_INTERVAL"] = 30
    assert check_now(web, customer).status_code == 302
    assert queued() == 1
    again = check_now(web, customer)
    assert again.status_code == 429
    assert "was checked a moment ago" in page_text(again)
    assert queued() == 1, "no second check was queued"


def test_check_now_is_limited_per_login_and_per_ip(app, web, customer, queued):
    app.config["PROOF_CHECKS_PER_HOUR"] = 2
    for name in (f"shop.{NAME}", f"news.{NAME}"):
        assert web.submit("/domains/", {"name": name}).status_code == 302
    assert check_now(web, customer).status_code == 302
    assert check_now(web, claim("Acme", f"shop.{NAME}")).status_code == 302
    third = check_now(web, claim("Acme", f"news.{NAME}"))
    assert third.status_code == 429 and "Too many checks" in page_text(third)
    web.client.environ_base["REMOTE_ADDR"] = "127.0.0.10"
    assert check_now(web, claim("Acme", f"news.{NAME}")).status_code == 429, "the login's own limit"
    # Another login from another address may check; from the same address it may not.
    other = Web(app.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    other.login("rival@owner.test")
    assert other.submit("/domains/", {"name": "rival.net"}).status_code == 302
    assert check_now(other, claim("Rival", "rival.net")).status_code == 302
    same_ip = Web(app.test_client())
    same_ip.login("rival@owner.test")
    assert same_ip.submit("/domains/", {"name": f"mail.{NAME}"}).status_code == 302
    assert check_now(same_ip, claim("Rival", f"mail.{NAME}")).status_code == 429
    assert queued() == 3


# The operator's sweep looks again at the domains that wait, as the worker's sweeper does.


def test_flask_orchestration_sweep_rechecks_the_waiting_domains(app, customer, bind, mx, work):
    bind.set_txt(RECORD, proof.token(customer.account_id, NAME))
    customer.proof_next_check_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["orchestration", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 domain(s)" in result.output
    work()
    work()
    assert proof.proven(customer)
    assert in_maps(mx, "domains", NAME) == "OK"


def test_the_operator_gives_a_name_that_only_waiting_claims_hold(app, customer, mx, work):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["domains", "add", "Rival", NAME])
    assert result.exit_code == 0, result.output
    assert proof.proven(claim("Rival"))
    assert claim("Acme").proof_code == ProofCode.LOST
    assert "Another account has proved" in proof_words(claim("Acme"))
    assert claim("Acme").proof_next_check_at is None
    work()
    assert in_maps(mx, "domains", NAME) == "OK"
    again = runner.invoke(args=["domains", "add", "Acme", f"shop.{NAME}"])
    assert again.exit_code == 1 and f"overlaps {NAME}" in again.output


def test_the_operator_sees_which_domains_from_before_proof_prove_it_now(app, make_account, bind):
    """Migration 0016 let every existing domain count as verified; the operator can look them over."""
    acme, rival = make_account("Acme"), make_account("Rival")
    for account, name in ((acme, NAME), (rival, "shop.rival.net")):
        db.session.add(
            Domain(
                account=account,
                name=name,
                status=Status.APPLIED,
                verified_at=utcnow(),
                proof_code=ProofCode.SERVED_BEFORE,
            )
        )
    db.session.add(Domain(account=acme, name="acme.test", status=Status.APPLIED, verified_at=utcnow()))
    db.session.commit()
    bind.set_txt(RECORD, proof.token(acme.id, NAME))
    bind.remove("_hostdeck-challenge.shop.rival.net")
    result = app.test_cli_runner().invoke(args=["domains", "served-before-proof"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"{NAME}\tAcme\tproved" in lines
    assert any(line.startswith("shop.rival.net\tRival\tNOT PROVED: No TXT record") for line in lines)
    assert "acme.test" not in result.output  # verified the usual way


# The proof state is stored as a code and its values, and read in the reader's language.

LAST_CHECK = re.compile(r'<dl class="row" id="proof-check">\s*<dt[^>]*>[^<]*</dt>\s*<dd[^>]*>(.*?)</dd>', re.S)
VERIFIED = re.compile(r'<p id="proof-state"><span[^>]*>[^<]*</span> (.*?)</p>', re.S)
ENGLISH = re.compile(r"[A-Za-z]+ [a-z]+")  # two words in a row: a sentence


def in_spanish(app, domain: Domain) -> str:
    with app.test_request_context("/"), force_locale("es"):
        return proof_words(domain)


def holds_no_words(domain: Domain) -> bool:
    """The row says what happened as a code and plain values (names, a TLD, record values), never a sentence."""
    values = [v for value in domain.proof_args.values() for v in (value if isinstance(value, list) else [value])]
    return domain.proof_code in set(ProofCode) and not any(ENGLISH.search(str(v)) for v in values)


def test_a_spanish_speaker_reads_the_proof_state_in_spanish(app, web, customer, bind, work):
    user_named("acme@owner.test").locale = "es"
    db.session.commit()
    check_now(web, customer)
    work()
    assert customer.proof_code in (ProofCode.NXDOMAIN, ProofCode.NO_TXT) and holds_no_words(customer)
    page = page_text(web.get(f"/domains/{customer.id}"))
    assert '<html lang="es"' in page
    last_check = html.unescape(LAST_CHECK.search(page)[1]).split(": ", 1)[-1]  # after the time of the check
    assert last_check == in_spanish(app, customer) != ""

    bind.set_txt(RECORD, proof.token(customer.account_id, NAME))
    check_now(web, customer)
    work()
    assert proof.proven(customer)
    assert customer.proof_code == ProofCode.RECORD_FOUND and holds_no_words(customer)
    verified = html.unescape(VERIFIED.search(page_text(web.get(f"/domains/{customer.id}")))[1])
    assert verified == in_spanish(app, customer) != ""
    # Its subdomain, verified with it, names it as the reader writes it.
    assert web.submit("/domains/", {"name": f"shop.{NAME}"}).status_code == 302
    sub = claim("Acme", f"shop.{NAME}")
    assert (sub.proof_code, sub.proof_args) == (ProofCode.WITH_PARENT, {"name": NAME})
    verified = html.unescape(VERIFIED.search(page_text(web.get(f"/domains/{sub.id}")))[1])
    assert verified == in_spanish(app, sub) and NAME in verified


def test_a_spanish_speaking_staff_member_reads_a_lost_claim_in_spanish(app, customer, rival, bind, work):
    """A claim closed by a worker (no reader then) is worded for whoever reads it later."""
    bind.set_txt(RECORD, proof.token(account_named("Rival").id, NAME))
    check_now(rival, claim("Rival"))
    work()
    lost = claim("Acme")
    assert (lost.proof_code, lost.proof_args) == (ProofCode.LOST, {})
    user_named("staff@hostdeck.test").locale = "es"
    db.session.commit()
    staff = Web(app.test_client())
    staff.login("staff@hostdeck.test")
    page = html.unescape(page_text(staff.get(f"/staff/accounts/{lost.account_id}")))
    assert f"Otra cuenta ha demostrado que {NAME} es suyo." in page
    assert "Another account has proved" not in page
