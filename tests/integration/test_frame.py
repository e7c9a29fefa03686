"""The frame every page shares: grouped navigation with the current page marked, staff's own sections,
the skip link, the user menu, and a reseller's switcher list (its own sub-accounts only)."""

import re

from portal.extensions import db


def _nav(html: str) -> list[str]:
    sidebar = html[html.index('id="sidebar"') : html.index("</nav>", html.index('id="sidebar"'))]
    return re.findall(r'<a class="nav-link[^"]*" href="([^"]+)"', sidebar)


def _current(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"\s+aria-current="page"', html)


def test_the_current_section_is_marked(web, make_account):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    assert _current(web.get("/mailboxes/").get_data(as_text=True)) == ["/mailboxes/"]
    assert _current(web.get("/mailboxes/new").get_data(as_text=True)) == ["/mailboxes/"]
    assert _current(web.get("/").get_data(as_text=True)) == ["/"]
    html = web.get("/mailboxes/").get_data(as_text=True)
    assert 'href="#main"' in html and 'id="main"' in html  # the skip link and its target
    assert "Log out" in html and "/account/" in html


def test_customers_get_grouped_sections_and_no_staff_links(web, make_account):
    make_account("Acme")
    web.login("acme@owner.test")
    html = web.get("/").get_data(as_text=True)
    links = _nav(html)
    assert links[:4] == ["/", "/domains/", "/mailboxes/", "/addresses/"]
    assert "/reseller/accounts" not in links and not any(link.startswith("/staff") for link in links)
    assert "sidebar-heading" in html and ">Mail<" in html and ">Web<" in html


def test_resellers_get_sub_accounts_and_the_switcher(web, make_account):
    reseller = make_account("Shop", kind="reseller")
    make_account("Client", parent=reseller)
    make_account("Stranger")
    web.login("shop@owner.test")
    html = web.get("/").get_data(as_text=True)
    assert "/reseller/accounts" in _nav(html) and "data-targets-url" in html
    names = [name for _, name in web.get("/reseller/switch-targets").get_json()["accounts"]]
    assert names == ["Client"]


def test_the_switcher_list_is_for_resellers_only(web, make_account):
    make_account("Acme")
    web.login("acme@owner.test")
    assert "data-targets-url" not in web.get("/").get_data(as_text=True)
    assert web.get("/reseller/switch-targets").status_code == 404


def test_staff_get_their_own_sections(web, make_staff):
    make_staff()
    web.login("staff@hostdeck.test")
    links = _nav(web.get("/staff/accounts").get_data(as_text=True))
    assert links[:4] == ["/staff/accounts", "/staff/events", "/staff/logs", "/staff/servers"]
    assert "/mailboxes/" not in links
    assert _current(web.get("/staff/logs").get_data(as_text=True)) == ["/staff/logs"]


def test_static_files_are_versioned_and_cached(web, make_account, app):
    make_account("Acme")
    web.login("acme@owner.test")
    html = web.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{10})"', html)
    assert css, "the stylesheet's URL names its version"
    response = web.get(css.group(1), headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.status_code == 200 and "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers.get("Content-Encoding") == "zstd"
    assert response.get_data()  # read to the end: the file is closed then
    response.close()
    page = web.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("Content-Encoding") == "gzip"
    assert web.get("/").headers["Cache-Control"] == "no-store"
    db.session.rollback()
