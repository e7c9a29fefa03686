"""Two-factor login with TOTP: required for staff, optional for customers, codes used once."""

import re
from datetime import timedelta

import pyotp
import sqlalchemy as sa
from freezegun import freeze_time

from portal.extensions import db
from portal.models import RecoveryCode, Role, User, utcnow
from portal.security import totp
from portal.security.passwords import hash_password
from tests.helpers import PASSWORD, enrol_totp, logged_in, totp_now, user_named

KEY = re.compile(r'<code id="totp-key">([A-Z2-7]+)</code>')
CODES = re.compile(r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>")


def password_step(web, email: str):
    response = web.submit("/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return response.location


def test_staff_set_up_two_factor_at_their_first_login(web):
    db.session.add(User(email="new-staff@hostdeck.test", password_hash=hash_password(PASSWORD), role=Role.STAFF))
    db.session.commit()
    assert password_step(web, "new-staff@hostdeck.test").endswith("/login/two-factor/setup")
    assert not logged_in(web.client)  # the password alone is not a login
    page = web.get("/login/two-factor/setup").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page  # the QR code, made offline
    seed = KEY.search(page).group(1)
    user = user_named("new-staff@hostdeck.test")
    assert seed not in (user.totp_secret or "") and totp.seed_of(user) == seed  # stored encrypted
    wrong = web.submit("/login/two-factor/setup", {"code": "000000"})
    assert "wrong or was already used" in wrong.get_data(as_text=True) and not logged_in(web.client)
    done = web.submit("/login/two-factor/setup", {"code": pyotp.TOTP(seed).now()})
    codes = CODES.findall(done.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert logged_in(web.client)
    db.session.refresh(user)
    assert user.totp_enabled and user.last_login_at is not None
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)


def test_the_second_step_must_follow_soon(web, make_staff):
    make_staff()
    password_step(web, "staff@hostdeck.test")
    with freeze_time(utcnow() + timedelta(minutes=6)):
        late = web.get("/login/two-factor")
        assert late.status_code == 302 and late.location.endswith("/login")


def test_a_code_is_refused_when_used_again(web, make_staff):
    staff = make_staff()
    with freeze_time(utcnow()):  # both logins within one 30-second step
        code = totp_now(staff)
        password_step(web, "staff@hostdeck.test")
        assert web.submit("/login/two-factor", {"code": code}).status_code == 302
        assert logged_in(web.client)
        web.logout()
        assert not logged_in(web.client)
        password_step(web, "staff@hostdeck.test")
        again = web.submit("/login/two-factor", {"code": code})
        assert again.status_code == 200 and "wrong or was already used" in again.get_data(as_text=True)
        assert not logged_in(web.client)
    with freeze_time(utcnow() + timedelta(seconds=30)):  # the next step's code works
        assert web.submit("/login/two-factor", {"code": totp_now(staff)}).status_code == 302
        assert logged_in(web.client)


def test_recovery_codes_work_once(web, make_account):
    customer = make_account("Acme").users[0]
    web.login("acme@owner.test")
    page = web.get("/account/two-factor").get_data(as_text=True)
    seed = KEY.search(page).group(1)
    codes = CODES.findall(web.submit("/account/two-factor", {"code": pyotp.TOTP(seed).now()}).get_data(as_text=True))
    assert len(codes) == 10
    web.logout()

    password_step(web, "acme@owner.test")
    assert web.submit("/login/two-factor", {"code": codes[3].upper()}).status_code == 302
    assert logged_in(web.client)
    web.logout()
    password_step(web, "acme@owner.test")
    assert "wrong or was already used" in web.submit("/login/two-factor", {"code": codes[3]}).get_data(as_text=True)
    assert not logged_in(web.client)
    assert totp.recovery_codes_left(customer) == 9


def test_customers_may_turn_it_off_staff_may_not(web, make_account, make_staff):
    customer = make_account("Acme").users[0]
    enrol_totp(customer)
    db.session.commit()
    web.login("acme@owner.test")
    assert web.submit("/account/", {"code": "000000"}, post_url="/account/two-factor/off").status_code == 302
    db.session.refresh(customer)
    assert customer.totp_enabled
    customer.totp_last_step = None
    db.session.commit()
    web.submit("/account/", {"code": totp_now(customer)}, post_url="/account/two-factor/off")
    db.session.refresh(customer)
    assert not customer.totp_enabled and customer.totp_secret is None
    web.logout()
    assert password_step(web, "acme@owner.test").endswith("/")  # no second step any more
    assert logged_in(web.client)
    web.logout()

    staff = make_staff()
    web.login("staff@hostdeck.test")
    web.submit("/account/", {"code": totp_now(staff)}, post_url="/account/two-factor/off")
    db.session.refresh(staff)
    assert staff.totp_enabled


def test_step_up_takes_a_fresh_code(web, make_staff):
    staff = make_staff()
    web.login("staff@hostdeck.test")
    with freeze_time(utcnow() + timedelta(minutes=10)):
        assert "wrong or was already used" in web.submit("/step-up", {"code": "000000"}).get_data(as_text=True)
        staff.totp_last_step = None
        db.session.commit()
        ok = web.submit("/step-up?next=/staff/accounts", {"code": totp_now(staff)})
        assert ok.status_code == 302 and ok.location.endswith("/staff/accounts")
