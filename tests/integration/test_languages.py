"""Languages: the pages follow the browser's Accept-Language until the user picks one in settings;
dates and numbers are written as that language writes them, in the user's timezone."""

from datetime import UTC, datetime

from flask_babel import refresh
from flask_login import login_user

from portal.extensions import db
from portal.models import AuditEvent
from portal.templating import localtime
from tests.helpers import user_named


def test_the_browser_language_is_the_default(client):
    html = client.get("/login", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="es"' in html and "Contraseña" in html
    html = client.get("/login", headers={"Accept-Language": "fr, en;q=0.4"}).get_data(as_text=True)
    assert '<html lang="en"' in html and "Password" in html


def test_a_chosen_language_wins_and_is_audited(web, make_account):
    make_account("Acme")
    web.login("acme@owner.test")
    response = web.submit("/account/", {"locale": "es"}, post_url="/account/language")
    assert response.status_code == 302
    assert user_named("acme@owner.test").locale == "es"
    html = web.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="es"' in html and "Buzones" in html  # the navigation, in Spanish
    assert db.session.query(AuditEvent).filter_by(action="user.locale").count() == 1
    web.submit("/account/", {"locale": ""}, post_url="/account/language")
    assert user_named("acme@owner.test").locale is None  # back to the browser's


def test_an_unknown_language_is_refused(web, make_account):
    make_account("Acme")
    web.login("acme@owner.test")
    response = web.submit("/account/", {"locale": "xx"}, post_url="/account/language")
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert user_named("acme@owner.test").locale is None


def test_dates_follow_the_language_and_timezone(app, make_account):
    account = make_account("Acme")
    owner = account.users[0]
    owner.timezone, owner.locale = "Europe/Madrid", "es"
    db.session.commit()
    when = datetime(2026, 12, 2, 4, 5, tzinfo=UTC)
    with app.test_request_context("/"):
        login_user(owner)
        assert localtime(when) == "2 dic 2026 5:05 CET"
    owner.locale = "en"
    db.session.commit()
    with app.test_request_context("/"):
        login_user(owner)
        refresh()  # the test's one app context keeps what the first request chose
        assert localtime(when) == "Dec 2, 2026 05:05 CET"
