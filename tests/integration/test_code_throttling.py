"""Every check of a two-factor code is throttled like login: wrong codes count per user and per IP,
and past the limit even the right code gets 429 until the minute has passed.

The routes are found, not listed: every view of portal/blueprints that checks a code, directly or
through a helper of its own (enrol_page). Each one must have a case here, and each is hammered."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa

import portal
from portal.extensions import db
from portal.models import LoginSession, Role, User
from portal.security import totp
from portal.security.passwords import hash_password
from tests.helpers import PASSWORD, Web, enrol_totp, logged_in

PORTAL = Path(portal.__file__).parent
CHECKS = {"verify", "confirm_enrolment"}  # what security/totp.py offers to check a code
IP, OTHER_IP = "127.0.0.21", "127.0.0.22"


@pytest.fixture
def app_config():
    return {}  # the throttle counts in memory, fresh for each app


def code_checking_views(app) -> set[str]:
    """The endpoints whose view checks a code, directly or through a helper that does."""
    trees = {
        ".".join(path.relative_to(PORTAL.parent).with_suffix("").parts): ast.parse(path.read_text())
        for path in (PORTAL / "blueprints").rglob("*.py")
    }
    checkers, found = set(CHECKS), set()
    while True:
        more = {
            (module, node.name)
            for module, tree in trees.items()
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and _calls(node, checkers)
        } - found
        if not more:
            break
        found |= more
        checkers |= {name for _, name in more}
    return {endpoint for endpoint, view in app.view_functions.items() if (view.__module__, view.__name__) in found}


def _calls(function: ast.FunctionDef, names: set[str]) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if called in names:
                return True
    return False


def test_no_code_is_checked_outside_totp():
    """Seeds, used steps and recovery codes are read only by security/totp.py (and their models)."""
    for path in PORTAL.rglob("*.py"):
        if path.parent.name != "models" and path != PORTAL / "security" / "totp.py":
            source = path.read_text()
            for word in ("pyotp", "RecoveryCode", "totp_last_step", "totp_secret"):
                assert word not in source, f"{path.relative_to(PORTAL)} uses {word}: check codes through totp.verify()"


# What each route needs, and how it shows a right code was taken.


def _user(email: str, role: Role = Role.OWNER, *, two_factor: bool = True, account=None) -> User:
    user = User(email=email, password_hash=hash_password(PASSWORD), role=role, account=account)
    db.session.add(user)
    if two_factor:
        enrol_totp(user)
    db.session.commit()
    return user


def right_code(user: User) -> str:
    """The code the user's app shows now, not yet used (a test may have logged in this 30 s step)."""
    db.session.refresh(user)
    user.totp_last_step = None
    db.session.commit()
    return pyotp.TOTP(totp.seed_of(user)).now()


def wrong_code(user: User) -> str:
    """Six digits that are none of the codes near now."""
    db.session.refresh(user)
    app = pyotp.TOTP(totp.seed_of(user))
    now = app.timecode(datetime.now(UTC))
    valid = {app.generate_otp(step) for step in range(now - 2, now + 3)}
    return next(code for code in ("000000", "111111", "222222") if code not in valid)


@dataclass
class Route:
    user: User
    form_url: str  # a page whose form carries the session's CSRF token
    post_url: str
    fields: dict
    accepted: Callable[[object], bool]


def _login_pending(web: Web, user: User) -> None:
    response = web.submit("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def _auth_two_factor(web, make_account) -> Route:
    user = _user("two@owner.test", account=make_account("Acme"))
    _login_pending(web, user)
    return Route(user, "/login/two-factor", "/login/two-factor", {}, lambda r: logged_in(web.client))


def _auth_enrol(web, make_account) -> Route:
    user = _user("new-staff@hostdeck.test", Role.STAFF, two_factor=False)
    _login_pending(web, user)
    web.get("/login/two-factor/setup")  # makes the seed to confirm
    return Route(user, "/login/two-factor/setup", "/login/two-factor/setup", {}, lambda r: _two_factor_on(user))


def _auth_step_up(web, make_account) -> Route:
    user = _user("step@owner.test", account=make_account("Acme"))
    web.login(user.email)
    return Route(user, "/step-up", "/step-up", {}, lambda r: r.status_code == 302)


def _impersonation_start(web, make_account) -> Route:
    subject = make_account("Acme").users[0]
    staff = _user("staff@hostdeck.test", Role.STAFF)
    web.login(staff.email)
    # The login's code counts as a step-up for a few minutes; make this start ask for one.
    db.session.execute(sa.update(LoginSession).where(LoginSession.user_id == staff.id).values(stepped_up_at=None))
    db.session.commit()
    started = lambda r: db.session.scalar(  # noqa: E731
        sa.select(LoginSession.subject_id).where(LoginSession.user_id == staff.id)
    )
    return Route(staff, "/account/", f"/impersonate/{subject.id}", {"reason": "ticket 42"}, started)


def _account_two_factor(web, make_account) -> Route:
    user = _user("on@owner.test", two_factor=False, account=make_account("Acme"))
    web.login(user.email)
    web.get("/account/two-factor")  # makes the seed to confirm
    return Route(user, "/account/two-factor", "/account/two-factor", {}, lambda r: _two_factor_on(user))


def _account_two_factor_off(web, make_account) -> Route:
    user = _user("off@owner.test", account=make_account("Acme"))
    web.login(user.email)
    return Route(user, "/account/", "/account/two-factor/off", {}, lambda r: not _two_factor_on(user))


def _account_recovery_codes(web, make_account) -> Route:
    user = _user("codes@owner.test", account=make_account("Acme"))
    web.login(user.email)
    return Route(
        user, "/account/", "/account/two-factor/recovery-codes", {}, lambda r: "recovery" in r.get_data(as_text=True)
    )


def _two_factor_on(user: User) -> bool:
    db.session.refresh(user)
    return user.totp_enabled


ROUTES: dict[str, Callable[..., Route]] = {
    "auth.two_factor": _auth_two_factor,
    "auth.enrol": _auth_enrol,
    "auth.step_up": _auth_step_up,
    "impersonation.start": _impersonation_start,
    "account.two_factor": _account_two_factor,
    "account.two_factor_off": _account_two_factor_off,
    "account.recovery_codes": _account_recovery_codes,
}


def test_every_route_that_checks_a_code_has_a_case(app):
    assert code_checking_views(app) == set(ROUTES)


def send(web: Web, route: Route, code: str, ip: str = IP):
    return web.submit(
        route.form_url, {**route.fields, "code": code}, post_url=route.post_url, environ_base={"REMOTE_ADDR": ip}
    )


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_wrong_codes_are_throttled(app, web, make_account, endpoint):
    route = ROUTES[endpoint](web, make_account)
    limit = app.config["LOGIN_ATTEMPTS_PER_MINUTE"]
    for _ in range(limit):
        refused = send(web, route, wrong_code(route.user))
        assert refused.status_code in (200, 302), refused.status_code
        assert not route.accepted(refused)
    # Past the limit even the right code waits: whoever sends these may be guessing.
    blocked = send(web, route, right_code(route.user))
    assert blocked.status_code == 429
    assert "Too many wrong codes. Wait a minute and try again." in blocked.get_data(as_text=True)
    assert not route.accepted(blocked)
    # Once the minute has passed (its counts are gone), the right code works again.
    app.extensions["hostdeck.throttle"].reset()
    taken = send(web, route, right_code(route.user))
    assert taken.status_code != 429 and route.accepted(taken), taken.status_code


def test_codes_count_per_user_and_per_ip(app, client, make_account):
    one, two = Web(client), Web(app.test_client())
    first = _auth_step_up(one, make_account)
    other = _user("other-step@owner.test", account=make_account("Other"))
    two.login(other.email)
    second = Route(other, "/step-up", "/step-up", {}, lambda r: r.status_code == 302)
    for _ in range(app.config["LOGIN_ATTEMPTS_PER_MINUTE"]):
        assert send(one, first, wrong_code(first.user), IP).status_code == 200
    # The user is blocked from anywhere...
    assert send(one, first, right_code(first.user), OTHER_IP).status_code == 429
    # ...and the IP for anyone;
    assert send(two, second, right_code(other), IP).status_code == 429
    # another user from another IP is not.
    assert send(two, second, right_code(other), OTHER_IP).status_code == 302
