"""Lists people can work with: a filter on every list (?q=, % and _ plain characters), a reseller's
Account column and account filter, names cut short with the whole name on hover, a pager only when
there is more than one page, and empty states that say what to do."""

import re

import pytest

from portal.extensions import db
from portal.models import (
    Account,
    Address,
    AuditEvent,
    BackendLog,
    Database,
    DatabaseUser,
    Domain,
    Mailbox,
    Server,
    Status,
    SystemUser,
    WebApp,
    Website,
)
from tests.helpers import domain_named

PER_PAGE = 3


@pytest.fixture
def app_config():
    return {"PER_PAGE": PER_PAGE}


def _domain(account: Account) -> Domain:
    name = f"lists{account.id}.test"
    return domain_named(name) or Domain(account=account, name=name, status=Status.APPLIED)


def _system_user(account: Account, name: str) -> SystemUser:
    return SystemUser(account=account, name=name, shell="sftp", ssh_keys="", status=Status.APPLIED)


# What each customer list shows by name: make(account, name) adds one row that the filter finds by it.
MAKE = {
    "/mailboxes/": lambda a, n: Mailbox(account=a, domain=_domain(a), local_part=n, status=Status.APPLIED),
    "/addresses/": lambda a, n: Address(account=a, domain=_domain(a), local_part=n, status=Status.APPLIED),
    "/domains/": lambda a, n: Domain(account=a, name=f"{n}.test", status=Status.APPLIED),
    "/system-users/": _system_user,
    "/webapps/": lambda a, n: WebApp(
        account=a, system_user=_system_user(a, f"u{n}"), name=n, kind="static", php_version="", options={}
    ),
    "/websites/": lambda a, n: Website(account=a, name=n, with_www=False, https=False, certificate=""),
    "/databases/": lambda a, n: Database(account=a, engine="mariadb", name=n, status=Status.APPLIED),
    "/databases/#users": lambda a, n: DatabaseUser(account=a, engine="mariadb", name=n, status=Status.APPLIED),
    "/activity": lambda a, n: AuditEvent(
        account_id=a.id, action="mailbox.save", object_type="Mailbox", object_id=1, object_name=n
    ),
}
CUSTOMER_LISTS = list(MAKE)


def add(make, account: Account, *names: str) -> None:
    for name in names:
        db.session.add(make(account, name))
    db.session.commit()


def body(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def listed(web, url: str) -> str:
    """The page's list: its card, without the filter's own input (which repeats what was typed)."""
    page = body(web.get(url))
    return re.sub(r'<input[^>]*name="q"[^>]*>', "", page)


@pytest.fixture
def acme(web, make_account):
    account = make_account("Acme")
    web.login("acme@owner.test")
    return account


@pytest.mark.parametrize("url", CUSTOMER_LISTS)
def test_the_filter_finds_and_leaves_out(web, acme, url):
    add(MAKE[url], acme, "keepsake", "dropped")
    page = url.split("#")[0]
    everything = listed(web, page)
    assert "keepsake" in everything and "dropped" in everything
    found = listed(web, f"{page}?q=EPSA")  # part of the name, in any case
    assert "keepsake" in found and "dropped" not in found


@pytest.mark.parametrize("url", CUSTOMER_LISTS)
def test_no_match_says_so_and_how_to_clear_it(web, acme, url):
    add(MAKE[url], acme, "keepsake")
    page = url.split("#")[0]
    found = listed(web, f"{page}?q=zz9")
    assert "“zz9”." in found and "Clear the filter" in found
    assert f'href="{page}">Clear the filter' in found  # back to the whole list
    assert "keepsake" not in found


def test_percent_and_underscore_are_plain_characters(web, acme):
    add(_system_user, acme, "acme_a_b", "acme_axb")
    found = listed(web, "/system-users/?q=a_b")
    assert "acme_a_b" in found and "acme_axb" not in found
    add(MAKE["/activity"], acme, "50% off", "500 off")
    found = listed(web, "/activity?q=0%25")
    assert "50% off" in found and "500 off" not in found


def test_the_filter_finds_a_domain_typed_in_unicode(web, acme):
    db.session.add(Domain(account=acme, name="xn--bcher-kva.test", status=Status.APPLIED))
    db.session.add(Domain(account=acme, name="other.test", status=Status.APPLIED))
    db.session.commit()
    found = listed(web, "/domains/?q=bücher")
    assert "bücher.test" in found and "other.test" not in found


def test_the_pager_shows_only_with_a_second_page_and_keeps_the_filter(web, acme):
    add(_system_user, acme, *(f"acme_web{i}" for i in range(PER_PAGE)), "acme_other")
    one_page = listed(web, "/system-users/?q=web")
    assert one_page.count("acme_web") == PER_PAGE
    assert 'class="pagination' not in one_page  # no "« 1 »" for one page
    add(_system_user, acme, "acme_web9")
    two_pages = listed(web, "/system-users/?q=web")
    assert 'class="pagination' in two_pages
    links = re.findall(r'href="\s*(/system-users/\?[^"]*page=2[^"]*)"', two_pages)
    assert links and all("q=web" in link for link in links), "page links carry the filter"
    second = listed(web, "/system-users/?q=web&page=2")
    assert "acme_web9" in second and "acme_other" not in second


def test_the_second_list_on_a_page_has_its_own_pager(web, acme):
    add(MAKE["/databases/#users"], acme, *(f"acme_u{i}" for i in range(PER_PAGE + 1)))
    page = listed(web, "/databases/?q=u")
    assert 'href="/databases/?q=u&amp;users_page=2"' in page
    assert "page=2" not in page.replace("users_page=2", "")  # the databases list has no rows to page


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/mailboxes/", "No mailboxes yet. Add a domain first, then create a mailbox."),
        ("/addresses/", "No addresses yet. Add a domain first, then create an address."),
        ("/domains/", "No domains yet. Add your domain with the form on this page"),
        ("/system-users/", "No system users yet. A system user owns your website files"),
        ("/webapps/", "No web apps yet. Create a system user first"),
        ("/websites/", "No websites yet. Add a domain and create a web app first"),
        ("/databases/", "No databases yet. Create one with the form below"),
        ("/activity", "Nothing has happened yet."),
    ],
)
def test_an_empty_list_says_what_to_do_first(web, acme, url, words):
    page = listed(web, url)
    assert words in page
    assert "Clear the filter" not in page


def test_an_empty_list_leads_to_what_comes_first(web, acme):
    page = listed(web, "/mailboxes/")
    assert 'href="/domains/">Add a domain</a>' in page
    add(MAKE["/domains/"], acme, "acme")
    page = listed(web, "/mailboxes/")
    assert "No mailboxes yet. Create one for each person" in page
    assert page.count('href="/mailboxes/new"') >= 2  # the header's button and the empty state's


def test_a_long_name_is_cut_short_with_the_whole_name_in_its_title(web, acme):
    add(MAKE["/mailboxes/"], acme, "long" * 15)
    name = f"{'long' * 15}@lists{acme.id}.test"
    page = listed(web, "/mailboxes/")
    assert f'title="{name}"' in page
    assert f">{name}<" not in page  # shown shortened
    assert 'class="table-responsive' in page
    mailbox = db.session.scalars(db.select(Mailbox)).one()
    assert name in body(web.get(f"/mailboxes/{mailbox.id}"))  # whole on its own page


def test_a_failed_badge_says_why_on_hover(web, acme):
    db.session.add(
        Mailbox(account=acme, domain=_domain(acme), local_part="broken", status=Status.FAILED, last_error="boom")
    )
    db.session.commit()
    page = listed(web, "/mailboxes/")
    badge = re.search(r'<span class="badge text-bg-danger"[^>]*>', page)
    assert badge and 'title="The ' in badge.group(0), page
    assert "boom" not in badge.group(0)  # plain words, never the worker's detail


# A reseller sees its own rows and its sub-accounts', each with its account.


@pytest.fixture
def tree(web, make_account):
    resell = make_account("Resell", kind="reseller", email="boss@resell.test")
    bakery = make_account("Bakery", parent=resell)
    other = make_account("Other")
    web.login("boss@resell.test")
    return resell, bakery, other


@pytest.mark.parametrize("url", CUSTOMER_LISTS)
def test_a_reseller_sees_whose_each_row_is_and_filters_by_account(web, tree, url):
    resell, bakery, other = tree
    make = MAKE[url]
    add(make, resell, "ownrow")
    add(make, bakery, "subrow")
    add(make, other, "foreignrow")
    page = url.split("#")[0]
    everything = listed(web, page)
    assert "ownrow" in everything and "subrow" in everything and "foreignrow" not in everything
    assert ">Account</th>" in everything
    assert f'<option value="{bakery.id}">Bakery</option>' in everything
    assert "Other" not in everything  # another's account is no choice
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*subrow(?:(?!</tr>).)*</tr>", everything, re.S)
    assert row and ">Bakery</td>" in row.group(0), "the row names its account"

    only_bakery = listed(web, f"{page}?account={bakery.id}")
    assert "subrow" in only_bakery and "ownrow" not in only_bakery
    assert f'<option value="{bakery.id}" selected>' in only_bakery
    only_own = listed(web, f"{page}?account={resell.id}")
    assert "ownrow" in only_own and "subrow" not in only_own

    foreign = web.get(f"{page}?account={other.id}")
    assert foreign.status_code == 404
    assert "foreignrow" not in foreign.get_data(as_text=True)


def test_acting_inside_a_sub_account_lists_only_its_rows_without_the_column(web, tree):
    resell, bakery, _ = tree
    add(MAKE["/mailboxes/"], resell, "ownrow")
    add(MAKE["/mailboxes/"], bakery, "subrow")
    assert web.submit("/mailboxes/", {"account_id": bakery.id}, post_url="/reseller/switch").status_code == 302
    page = listed(web, "/mailboxes/")
    assert "subrow" in page and "ownrow" not in page
    assert ">Account</th>" not in page and 'name="account"' not in page
    assert "ownrow" not in listed(web, f"/mailboxes/?account={resell.id}")  # no way back out through the filter


def test_a_customer_has_no_account_column(web, acme):
    add(MAKE["/mailboxes/"], acme, "info")
    page = listed(web, "/mailboxes/")
    assert ">Account</th>" not in page and 'name="account"' not in page
    assert web.get(f"/mailboxes/?account={acme.id}").status_code == 200  # nothing to choose: ignored


def test_a_resellers_sub_accounts_filter(web, tree):
    resell = tree[0]
    db.session.add(Account(name="50% Shop", parent=resell))
    db.session.add(Account(name="500 Shop", parent=resell))
    db.session.commit()
    found = listed(web, "/reseller/accounts?q=0%25")
    assert "50% Shop" in found and "500 Shop" not in found and "Bakery" not in found
    assert "No sub-accounts match “zz”." in listed(web, "/reseller/accounts?q=zz")


# The staff lists.


@pytest.fixture
def staff(web, make_staff):
    make_staff()
    web.login("staff@hostdeck.test")


def test_staff_lists_filter(web, staff, make_account):
    acme = make_account("Acme")
    for name in ("keepsake", "dropped"):
        db.session.add(Server(name=f"{name}-1", host=f"{name}.example", transport="local"))
        db.session.add(
            AuditEvent(account_id=acme.id, action="mailbox.save", object_type="Mailbox", object_id=1, object_name=name)
        )
    db.session.commit()
    server = db.session.scalars(db.select(Server).where(Server.name == "keepsake-1")).one()
    db.session.add(BackendLog(server_id=server.id, backends="dovecot", state="FAILURE", error="keepsake broke"))
    db.session.add(BackendLog(server_id=server.id, backends="nginx", state="FAILURE", error="dropped broke"))
    db.session.commit()
    for url in ("/staff/servers", "/staff/events", "/staff/logs"):
        found = listed(web, f"{url}?q=EPSA").split("<tbody>")[1]  # (the logs' server choice names both)
        assert "keepsake" in found and "dropped" not in found, url
        assert "Clear the filter" in listed(web, f"{url}?q=zz9"), url
    found = listed(web, "/staff/events?q=keep&action=mailbox")
    assert 'name="action" value="mailbox"' in found and "keepsake" in found  # the other filters stay
    assert "No accounts match “zz9”." in listed(web, "/staff/accounts?q=zz9")


def test_the_filter_text_is_shown_as_text(web, acme):
    page = listed(web, "/system-users/?q=<b>bold</b>")
    assert "“&lt;b&gt;bold&lt;/b&gt;”" in page and "<b>bold</b>" not in page
    box = body(web.get("/mailboxes/?q=<b>bold</b>"))
    assert 'value="&lt;b&gt;bold&lt;/b&gt;"' in box
