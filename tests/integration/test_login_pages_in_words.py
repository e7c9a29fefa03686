"""The login's own pages say things in words a language can hold: counts with their plural, refusals
from shared constants, a backend log's state in words (its code kept for scripts)."""

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, RecoveryCode, Server, utcnow
from portal.security import totp
from tests.helpers import user_named


def test_recovery_codes_left_are_counted_in_words(web, make_account):
    make_account("Acme")
    owner = user_named("acme@owner.test")
    totp.begin_enrolment(owner)
    owner.totp_enabled = True
    totp.new_recovery_codes(owner)
    db.session.commit()
    web.login("acme@owner.test")
    assert "10 recovery codes left." in web.get("/account/").get_data(as_text=True)
    db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.id.in_(sa.select(RecoveryCode.id).where(RecoveryCode.user_id == owner.id).limit(9)))
        .values(used_at=utcnow())
    )
    db.session.commit()
    assert "1 recovery code left." in web.get("/account/").get_data(as_text=True)


def test_a_wrong_code_on_the_account_page_says_so(web, make_account):
    make_account("Acme")
    owner = user_named("acme@owner.test")
    totp.begin_enrolment(owner)
    owner.totp_enabled = True
    db.session.commit()
    web.login("acme@owner.test")
    for url in ("/account/two-factor/off", "/account/two-factor/recovery-codes"):
        refused = web.submit("/account/", {"code": "000000"}, post_url=url)
        assert refused.status_code == 302
        assert "That code is wrong or was already used." in web.get(refused.location).get_data(as_text=True)
    assert user_named("acme@owner.test").totp_enabled


def test_a_log_state_reads_in_words(web, make_staff):
    make_staff()
    server = Server(name="mail9", host="localhost", transport="local", settings={})
    db.session.add(server)
    db.session.flush()
    entry = BackendLog(server_id=server.id, state=LogState.FAILURE)
    db.session.add(entry)
    db.session.commit()
    web.login("staff@hostdeck.test")
    page = web.get(f"/staff/logs/{entry.id}").get_data(as_text=True)
    assert 'data-state="FAILURE">Failure</span>' in page
    listing = web.get("/staff/logs").get_data(as_text=True)
    assert '<option value="TIMEOUT">Timeout</option>' in listing and 'data-state="FAILURE">Failure<' in listing
