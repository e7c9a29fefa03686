"""Every page, every role, three widths (issue 16).

Customer, reseller, staff and admin log in (staff and admins setting up two-factor login on the
way) and open every GET page of the url_map their access rule lets them see (tests/browser/pages.py),
at 390, 768 and 1280 px wide. On each page: no sideways overflow, the "Log out" button visible in
the viewport (through the navbar toggler and the user menu where they fold it away), no serious or
critical axe-core violation, and answered 200 without a redirect or a console error. At 1280 px
each page is also weighed, cold and warm, into test-artifacts/page-weights.json.

One test per role and width, all its pages in one logged-in page; each test fails once, with the
whole list of what is wrong. Screenshots: test-artifacts/pages/<role>/<width>/<endpoint>.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from portal import create_app
from portal.extensions import db
from portal.models import Role
from portal.security.roles import RULES, user
from tests.browser.checks import add_axe, axe, logout_visible, overflow, weigh
from tests.browser.conftest import ARTIFACTS
from tests.browser.pages import (
    AXE,
    COLD_BYTES,
    COLD_REQUESTS,
    GUEST_OF,
    HEIGHTS,
    ROLES,
    WARM_BYTES,
    WEIGHED_AT,
    WIDTHS,
    add_backend_log,
    add_one_of_each,
    add_plan,
    add_usage,
    ids_for,
    plan,
    public_pages,
    short,
    uncovered,
    url_of,
)
from tests.helpers import account_named, enrol_totp, totp_now, user_named
from tests.testbed.plugin import need

pytestmark = pytest.mark.browser
WEIGHTS = ARTIFACTS / "page-weights.json"


@pytest.fixture
def site(live_server):
    """The demo, with one object of every kind for the customer and the reseller, and a backend log."""
    for name in ("Demo Customer", "Demo Reseller"):
        add_one_of_each(account_named(name))
    add_backend_log()
    add_plan()
    add_usage()
    db.session.commit()
    return live_server


@pytest.fixture
def bare_app():
    """The portal's url_map needs no database or services."""
    return create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "test-secret"})


def test_every_get_rule_is_covered(bare_app):
    """A new page is visited by a role or skipped with a reason, never forgotten."""
    assert uncovered(bare_app) == []
    assert {access for role in ROLES.values() for access in role.access} <= set(RULES)
    assert all(plan(bare_app, role) for role in ROLES)


def test_coverage_names_a_new_page(bare_app):
    """The coverage check can fail: a page no role's access rule allows, not skipped, is named, and
    so is an id no model fills."""

    @bare_app.get("/hidden-corner")
    def hidden_corner():
        return "hidden"

    @bare_app.get("/widgets/<int:widget_id>")
    @user
    def widget(widget_id):
        return "widget"

    assert uncovered(bare_app) == [
        "hidden_corner (/hidden-corner): visit it (an access rule some role has) or list it in pages.SKIP",
        "widget (/widgets/<int:widget_id>): no model for <widget_id> in tests/ids.py ID_MODELS",
    ]


BOOTSTRAP = AXE.parents[1] / "bootstrap" / "dist"
BOOTSTRAP_FILES = {
    "/bootstrap.js": (BOOTSTRAP / "js" / "bootstrap.bundle.min.js", "text/javascript"),
    "/bootstrap.css": (BOOTSTRAP / "css" / "bootstrap.min.css", "text/css"),
}
SOUND = """<!doctype html><html lang="en"><head><title>Sound</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/bootstrap.css"><script src="/bootstrap.js"></script></head>
<body><header class="navbar"><button class="navbar-toggler" type="button" data-bs-toggle="collapse"
data-bs-target="#menu" aria-controls="menu" aria-expanded="false" aria-label="Menu">=</button>
<div class="collapse" id="menu"><div class="dropdown"><button type="button" data-bs-toggle="dropdown"
aria-expanded="false">You</button><ul class="dropdown-menu"><li><form><button type="button">Log out</button>
</form></li></ul></div></div></header><main><h1>Sound</h1><p>A page with nothing wrong.</p></main></body></html>"""
BROKEN = """<!doctype html><html lang="en"><head><title>Broken</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/bootstrap.css">
</head><body><main><h1>Broken</h1>
<div id="wide"><span>wider than a phone</span></div><img src="/photo.png">
<pre id="scrolls" tabindex="0">a line far wider than a phone, in a box that scrolls: no overflow of the page ..........</pre>
<p id="word">Pneumonoultramicroscopicsilicovolcanoconiosispneumonoultramicroscopicsilicovolcanoconiosis</p>
<button type="button" hidden>Log out</button></main></body></html>"""


@pytest.fixture
def fake_site(browser):
    """A context at phone width whose pages come from these strings, with axe added as on the portal."""
    need(AXE.exists() and BOOTSTRAP.exists(), f"axe-core and bootstrap from npm in {AXE.parents[1]} (npm ci)")
    context = browser.new_context(viewport={"width": 390, "height": HEIGHTS[390]})
    add_axe(context)
    bodies = {"/sound": SOUND, "/broken": BROKEN.replace('id="wide"', 'id="wide" style="width: 900px"')}

    def answer(route):
        path = short(route.request.url)
        if path in BOOTSTRAP_FILES:
            file, kind = BOOTSTRAP_FILES[path]
            route.fulfill(path=str(file), content_type=kind)
        elif path in bodies:
            route.fulfill(body=bodies[path], content_type="text/html")
        else:
            route.fulfill(status=404)

    context.route("http://checks.test/**", answer)
    yield context.new_page()
    context.close()


def test_the_checks_pass_a_sound_page(fake_site):
    """No overflow, no axe violation, and Log out found behind the toggler and the user menu."""
    fake_site.goto("http://checks.test/sound")
    assert not fake_site.get_by_role("button", name="Log out").is_visible()
    assert overflow(fake_site) + axe(fake_site) + logout_visible(fake_site) == []
    assert fake_site.get_by_role("button", name="Log out").is_visible()


def test_the_checks_see_what_is_wrong(fake_site):
    """Each check can fail, and says where: the element that sticks out, the axe rule and element,
    the hidden Log out."""
    fake_site.goto("http://checks.test/broken")
    fake_site.locator("#wide").evaluate("el => el.remove()")  # then only the long word sticks out
    [problem] = overflow(fake_site)
    assert re.fullmatch(r"overflow: .* > innerWidth 390 px: main > p#word: its text is \d+ px wide in \d+ px", problem)
    fake_site.goto("http://checks.test/broken")
    assert overflow(fake_site) == [
        "overflow: scrollWidth 900 px > innerWidth 390 px: main > div#wide (right edge 900 px)"
    ]
    assert [problem.split(" (")[0] + " " + problem.rsplit(": ", 1)[1] for problem in axe(fake_site)] == [
        "axe image-alt img"
    ]
    assert logout_visible(fake_site) == [
        "logout: Log out is hidden (after opening the user menu and the navbar toggler)"
    ]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page(app, site, browser, role, width):
    need(AXE.exists(), f"axe-core from npm at {AXE} (npm ci)")
    shots = ARTIFACTS / "pages" / role / str(width)
    shots.mkdir(parents=True, exist_ok=True)
    viewport = {"width": width, "height": HEIGHTS[width]}
    context = browser.new_context(viewport=viewport)
    add_axe(context)
    page = context.new_page()
    problems: list[str] = []
    where = ["auth.login"]

    def console(msg) -> None:
        if msg.type == "error":
            source = short(msg.location.get("url") or "")
            problems.append(f"{where[0]}: console: {msg.text}" + (f" ({source})" if source else ""))

    page.on("console", console)

    def check(endpoint: str, *, logged_in: bool = True) -> None:
        where[0] = endpoint
        found = overflow(page) + axe(page)
        page.screenshot(path=str(shots / f"{endpoint}.png"), full_page=True)
        if logged_in:
            found += logout_visible(page)
        problems.extend(f"{endpoint} ({short(page.url)}): {problem}" for problem in found)

    def visit(rule, url: str, *, logged_in: bool = True) -> None:
        where[0] = rule.endpoint
        response = page.goto(site + url)
        if response is None or response.status != 200 or short(page.url) != url:
            status = response.status if response else "no response"
            problems.append(f"{rule.endpoint} ({url}): answered {status} at {short(page.url)}, not 200 at {url}")
            return
        kind = response.headers.get("content-type", "")
        if not kind.startswith("text/html"):
            problems.append(f"{rule.endpoint} ({url}): answers {kind}, not a page: list it in pages.SKIP")
            return
        urls[rule.endpoint] = url
        check(rule.endpoint, logged_in=logged_in)

    urls = {}
    for rule in public_pages(app) if role == GUEST_OF else ():
        visit(rule, str(rule.rule), logged_in=False)
    log_in(page, site, role, check)
    ids = ids_for(role)
    for rule in plan(app, role):
        missing = sorted(arg for arg in rule.arguments if arg not in ids)
        if missing:
            problems.append(f"{rule.endpoint}: no object for {', '.join(missing)} that {role} can see")
            continue
        visit(rule, url_of(app, rule, ids))

    if width == WEIGHED_AT:
        guest = {"auth.login", *(rule.endpoint for rule in public_pages(app))}
        problems += weigh_pages(browser, context, site, role, urls, viewport, guest)
    context.close()
    assert not problems, f"{role} at {width} px: {len(problems)} problems\n" + "\n".join(problems)


def log_in(page, base: str, role: str, check: Callable[..., None]) -> None:
    """Log in as a person does, checking the login pages on the way (staff: set up two-factor login,
    then type the code)."""
    page.goto(f"{base}/login")
    check("auth.login", logged_in=False)
    page.fill("input[name=email]", ROLES[role].email)
    page.fill("input[name=password]", "hostdeck-test-drive")
    page.click("input[type=submit]")
    if ROLES[role].two_factor:
        page.wait_for_url(f"{base}/login/two-factor/setup")
        check("auth.enrol", logged_in=False)
        # The enrolment page is checked; its QR code is no way in for a test: enrol as the app does.
        db.session.expire_all()
        user = user_named(ROLES[role].email)
        assert user.role in (Role.STAFF, Role.ADMIN)
        enrol_totp(user)
        db.session.commit()
        page.goto(f"{base}/login/two-factor")
        check("auth.two_factor", logged_in=False)
        page.fill("input[name=code]", totp_now(user))
        page.click("input[type=submit]")
    page.wait_for_url(f"{base}/")


def weigh_pages(browser, context, base: str, role: str, urls: dict[str, str], viewport, guest: set[str]) -> list[str]:
    """Each page cold (a new context with the login's cookies and an empty cache), then warm (a reload
    there); the figures go to page-weights.json, what is over the targets to the problems."""
    state = context.storage_state()
    weights = {}
    for endpoint, url in {"auth.login": "/login", **urls}.items():
        fresh = browser.new_context(viewport=viewport, storage_state=None if endpoint in guest else state)
        page = fresh.new_page()
        cold = weigh(page, base + url)
        warm = weigh(page, base + url, reload=True)
        fresh.close()
        weights[endpoint] = {"url": url, "cold": cold, "warm": warm}
    everything = json.loads(WEIGHTS.read_text()) if WEIGHTS.exists() else {}
    everything[role] = weights
    WEIGHTS.write_text(json.dumps(everything, indent=2, sort_keys=True) + "\n")

    problems = []
    for endpoint, w in weights.items():
        where = f"{endpoint} ({w['url']})"
        if w["cold"]["bytes"] > COLD_BYTES:
            problems.append(f"{where}: weight: cold load {kb(w['cold']['bytes'])} > {kb(COLD_BYTES)}")
        if w["cold"]["requests"] > COLD_REQUESTS:
            problems.append(f"{where}: weight: cold load {w['cold']['requests']} requests > {COLD_REQUESTS}")
        if w["warm"]["bytes"] > WARM_BYTES:
            problems.append(f"{where}: weight: warm load {kb(w['warm']['bytes'])} > {kb(WARM_BYTES)}")
    return problems


def kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"
