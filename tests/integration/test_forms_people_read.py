"""Forms as people read them: fields in the order people think (name, where it lives, secrets, options),
PHP settings tucked under "Advanced" with their defaults, a choice that would be empty saying what to
create first, a feature no server offers saying so (and whom to ask) before the form, typed values kept
after a refusal (never a password), and delete and suspend pages that say what goes or stops first."""

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Database, Domain, Mailbox, Server, Status, SystemUser, WebApp, utcnow
from portal.services.webapps import PHP_DEFAULTS
from tests.helpers import add_server, domain_id, mailbox, new_address, new_mailbox


@pytest.fixture
def app_config():
    return {}  # no Redis: what a form records is applied in-process, right after the request


class Forms(HTMLParser):
    """The POST forms of a page: each one's field names in document order (each name once), and whether
    it sits inside a <details> element."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list[str]] = []
        self.tucked: set[str] = set()
        self.details = 0
        self.inside = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "form" and (found.get("method") or "").lower() == "post":
            self.forms.append([])
            self.inside = True
        elif tag == "details":
            self.details += 1
        elif self.inside and tag in ("input", "select", "textarea") and found.get("name"):
            name = found["name"]
            if name not in ("csrf_token", "submit") and name not in self.forms[-1]:
                self.forms[-1].append(name)
                if self.details:
                    self.tucked.add(name)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "details":
            self.details -= 1


def fields_of(page: str) -> tuple[list[str], set[str]]:
    """The page's main form (the one with most fields: the top bar's forms have none) and the fields under
    a <details>."""
    parser = Forms()
    parser.feed(page)
    return max(parser.forms, key=len, default=[]), parser.tucked


class Values(HTMLParser):
    """What a page's inputs show: each name's values (a text area's text), and those checked or selected."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self.chosen: dict[str, list[str]] = {}
        self.area: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        name = found.get("name")
        if tag == "input" and name:
            self.values.setdefault(name, []).append(found.get("value") or "")
            if "checked" in found:
                self.chosen.setdefault(name, []).append(found.get("value") or "")
        elif tag == "textarea" and name:
            self.area = name
            self.values.setdefault(name, []).append("")
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in found:
            self.chosen.setdefault(self.select, []).append(found.get("value") or "")

    def handle_data(self, data):
        if self.area:
            self.values[self.area][-1] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self.area = None
        elif tag == "select":
            self.select = None


def values(page: str) -> Values:
    parser = Values()
    parser.feed(page)
    return parser


def value_of(page: str, name: str) -> str | None:
    """What the input of that name shows (the first of them); None when the page has none."""
    found = values(page).values.get(name)
    return found[0].strip() if found else None


def chosen(page: str, name: str) -> list[str]:
    """The values checked or selected for that name."""
    return values(page).chosen.get(name, [])


def local_server(name: str, *backends: str) -> Server:
    return add_server(Server(name=name, host="localhost", transport="local", settings={}), *backends)


@pytest.fixture
def books(web, make_account, mailhost):
    """Customer Books (books.test, logged in) on a mail server."""
    account = make_account("Books", email="owner@books.test", domains=("books.test",))
    web.login("owner@books.test")
    return account


@pytest.fixture
def hosting(books):
    """A web server for Books, never reached (nothing here is applied): a route for each web backend."""
    return local_server("web1", "unix", "phpfpm", "nginx", "mariadb", "postgresql")


def system_user(account: Account, name: str = "web") -> SystemUser:
    """A system user as if applied (its server is never reached in these tests)."""
    user = SystemUser(account_id=account.id, name=f"{account.assigned_prefix()}_{name}", status="applied")
    db.session.add(user)
    db.session.commit()
    return user


def page(web, url: str) -> str:
    response = web.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# 1. Fields in the order people think


@pytest.mark.parametrize(
    ("url", "order"),
    [
        ("/mailboxes/new", ["local_part", "domain_id", "password", "confirm", "with_address", "quota_mb"]),
        ("/addresses/new", ["local_part", "domain_id", "catch_all", "mailbox_ids", "forwards"]),
        ("/system-users/new", ["name", "password", "confirm", "shell", "ssh_keys"]),
        (
            "/webapps/new",
            ["name", "system_user_id", "kind", "php_version", *(f.replace(".", "_") for f in PHP_DEFAULTS)],
        ),
        (
            "/websites/new",
            [
                *("name", "domain_ids", "with_www", "root_app", "more_mounts"),
                *("tls_mode", "certificate", "key", "redirect_https", "hsts"),
            ],
        ),
        ("/databases/users/new", ["name", "engine", "password", "confirm"]),
        ("/databases/", ["name", "engine"]),
    ],
)
def test_fields_come_name_first_then_where_then_secrets_then_options(web, books, hosting, url, order):
    system_user(books)
    new_mailbox(web, "alice", domain="books.test")
    assert fields_of(page(web, url))[0] == order


# 2. PHP settings under "Advanced", with their defaults


def test_php_settings_are_under_advanced_with_their_defaults(web, books, hosting):
    system_user(books)
    text = page(web, "/webapps/new")
    _, tucked = fields_of(text)
    php = [f.replace(".", "_") for f in PHP_DEFAULTS]
    assert tucked == set(php)
    assert not tucked & {"name", "system_user_id", "kind", "php_version"}
    assert "Advanced: PHP settings" in text.split("<details", 1)[1].split("</summary>", 1)[0]
    assert not re.search(r"<details[^>]*\bopen\b", text)  # tucked away until needed
    for option, default in PHP_DEFAULTS.items():
        assert f"{option} (default {default})" in text, option
    assert value_of(text, "memory_limit") == PHP_DEFAULTS["memory_limit"]


def test_an_error_in_a_php_setting_opens_the_advanced_section(web, books, hosting):
    user = system_user(books)
    refused = web.submit(
        "/webapps/new",
        {"name": "shop", "system_user_id": user.id, "kind": "php", "php_version": "8.2", "memory_limit": "lots"},
    )
    text = refused.get_data(as_text=True)
    assert "Write a size like 128M or 1G." in text
    assert re.search(r"<details[^>]*\bopen\b", text)
    assert value_of(text, "memory_limit") == "lots" and value_of(text, "name") == "shop"


# 3. An empty choice says what to create first


def test_a_web_app_without_a_system_user_says_to_create_one_first(web, books, hosting):
    text = page(web, "/webapps/new")
    assert "Create a system user first" in text
    assert 'href="/system-users/new"' in text
    assert 'name="system_user_id"' not in text

    system_user(books)
    assert 'name="system_user_id"' in page(web, "/webapps/new")


@pytest.mark.parametrize("url", ["/mailboxes/new", "/addresses/new", "/websites/new"])
def test_mail_and_websites_without_a_verified_domain_say_to_add_one_first(web, make_account, mailhost, url):
    local_server("web1", "nginx")
    make_account("Paper", email="owner@paper.test", domains=("paper-shop.org",))  # not proved yet
    web.login("owner@paper.test")
    text = page(web, url)
    assert "Add and verify a domain first" in text
    assert 'href="/domains/"' in text
    # The domain that waits is named, with what to do and a link to its page.
    assert "paper-shop.org is not verified yet" in text
    assert f'href="/domains/{domain_id("paper-shop.org")}"' in text
    assert 'name="domain_id"' not in text and 'name="domain_ids"' not in text


# 4. A feature no server offers says so before the form, and whom to ask


@pytest.mark.parametrize(
    ("url", "backend", "words"),
    [
        ("/system-users/new", "unix", "system users"),
        ("/databases/users/new", "mariadb", "databases"),
        ("/webapps/new", "phpfpm", "web apps"),
        ("/websites/new", "nginx", "websites"),
        ("/databases/", "mariadb", "databases"),  # the create form sits on the list page
    ],
)
def test_a_feature_no_server_offers_says_so_before_the_form(web, books, url, backend, words):
    system_user(books)
    text = page(web, url)
    assert f"No server offers {words} yet. Contact support to have it set up." in text
    assert fields_of(text)[0] == []  # no form to fill in for nothing

    local_server("web1", backend)
    text = page(web, url)
    assert "No server offers" not in text
    assert "name" in fields_of(text)[0]


@pytest.mark.parametrize(
    ("url", "backend", "words"),
    [
        ("/domains/", "postfix", "domains"),  # a domain is written to the mail server (Postfix)
        ("/mailboxes/new", "dovecot", "mailboxes"),
        ("/addresses/new", "postfix", "addresses"),  # forwards too: they are addresses
    ],
)
def test_mail_no_server_offers_says_so_before_the_form(web, make_account, url, backend, words):
    make_account("Books", email="owner@books.test", domains=("books.test",))  # no mail server at all
    web.login("owner@books.test")
    text = page(web, url)
    assert f"No server offers {words} yet. Contact support to have it set up." in text
    assert 'id="not-served"' in text
    assert fields_of(text)[0] == []

    local_server("mx1", backend)
    text = page(web, url)
    assert "No server offers" not in text
    assert fields_of(text)[0][0] in ("name", "local_part")


def test_the_domain_list_still_shows_the_domains_without_a_mail_server(web, make_account):
    make_account("Books", email="owner@books.test", domains=("books.test",))
    web.login("owner@books.test")
    text = page(web, "/domains/")
    assert "books.test" in text and "No server offers domains yet." in text


def test_a_sub_account_is_told_to_ask_its_reseller(web, make_account, mailhost):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    make_account("Bakery", parent=reseller, email="owner@bakery.test", domains=("bakery.test",))
    web.login("owner@bakery.test")
    text = page(web, "/system-users/new")
    assert "No server offers system users yet. Contact Resell to have it set up." in text
    assert fields_of(text)[0] == []


def test_the_notice_stands_for_a_post_too(web, books):
    refused = web.submit("/system-users/new", {"name": "web", "password": "x" * 12, "confirm": "x" * 12})
    assert "No server offers system users yet." in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SystemUser)) == 0


def test_no_domain_is_added_where_no_server_offers_domains(web, make_account):
    make_account("Paper", email="owner@paper.test")
    web.login("owner@paper.test")
    # A name that waits for its proof records nothing yet: without the notice it would be stored.
    refused = web.submit("/domains/", {"name": "paper-shop.org"})
    assert "No server offers domains yet." in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Domain)) == 0


def test_no_database_is_created_where_no_server_offers_databases(web, books):
    refused = web.submit("/databases/", {"name": "shop", "engine": "mariadb"}, post_url="/databases/new")
    assert "No server offers databases yet." in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Database)) == 0


# 5. A refusal keeps what was typed, but never a password


def test_a_refused_mailbox_keeps_what_was_typed_but_not_the_password(web, books):
    new_mailbox(web, "alice", domain="books.test")
    again = new_mailbox(web, "alice", password="pw-Second-meadow-77", domain="books.test", quota=77)
    text = again.get_data(as_text=True)
    assert "alice@books.test already exists." in text
    assert value_of(text, "local_part") == "alice"
    assert value_of(text, "quota_mb") == "77"
    assert chosen(text, "domain_id") == [str(domain_id("books.test"))]
    assert not value_of(text, "password") and not value_of(text, "confirm")
    assert "pw-Second-meadow-77" not in text


def test_a_refused_system_user_keeps_its_name_and_keys(web, books, hosting):
    typed = {"name": "web", "password": "web-Password-long-1", "confirm": "web-Password-long-1", "shell": "sftp"}
    refused = web.submit("/system-users/new", {**typed, "ssh_keys": "not a key"})
    text = refused.get_data(as_text=True)
    assert 'class="invalid-feedback' in text
    assert value_of(text, "name") == "web" and value_of(text, "ssh_keys") == "not a key"
    assert "web-Password-long-1" not in text


def test_a_refused_address_keeps_its_forwards(web, books):
    new_mailbox(web, "alice", domain="books.test", with_address=True)
    refused = new_address(web, "alice", "books.test", mailboxes=("alice@books.test",), forwards="bob@example.org")
    text = refused.get_data(as_text=True)
    assert "already exists" in text
    assert value_of(text, "local_part") == "alice"
    assert value_of(text, "forwards") == "bob@example.org"
    assert chosen(text, "mailbox_ids") == [str(mailbox("alice@books.test").id)]


def test_a_refused_website_keeps_what_was_typed(web, books, hosting):
    refused = web.submit(
        "/websites/new",
        {
            "name": "Shop",
            "domain_ids": [domain_id("books.test")],
            "root_app": 0,
            "more_mounts": "/blog nosuchapp",
            "key": "-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----",
        },
    )
    text = refused.get_data(as_text=True)
    assert "No web app called" in text
    assert value_of(text, "name") == "Shop"
    assert value_of(text, "more_mounts") == "/blog nosuchapp"
    assert "secret-key-material" not in text  # a private key is a secret: never written back


def test_refused_sub_account_limits_keep_what_was_typed(web, make_account):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    child = make_account("Bakery", parent=reseller, email="owner@bakery.test")
    web.login("boss@resell.test")
    refused = web.submit(f"/reseller/accounts/{child.id}/limits", {"mailboxes": "7", "domains": "many"})
    text = refused.get_data(as_text=True)
    assert "Type a whole number, in digits." in text
    assert value_of(text, "mailboxes") == "7" and value_of(text, "domains") == "many"


def test_a_refused_verification_keeps_the_reason_and_says_why(web, make_account):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    make_account("Bakery", parent=reseller, email="owner@bakery.test", domains=("bakery-shop.org",))
    web.login("boss@resell.test")
    domain = domain_id("bakery-shop.org")
    reason = "Ticket 1234, " + "the contract says so. " * 60  # over the 1,000 characters a reason may have
    refused = web.submit(f"/domains/{domain}", {"reason": reason}, post_url=f"/domains/{domain}/verify")
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert re.findall(r"invalid-feedback[^>]*>([^<]*)<", text) == ["At most 1000 characters."]  # at the field
    assert value_of(text, "reason") == reason.strip()


# 6. Delete and suspend confirm first, and say what goes with them


def test_a_mailbox_delete_page_names_the_addresses_that_go_with_it(web, books):
    new_mailbox(web, "alice", domain="books.test", with_address=True)
    new_mailbox(web, "bob", domain="books.test")
    new_address(web, "team", "books.test", mailboxes=("alice@books.test", "bob@books.test"))
    text = page(web, f"/mailboxes/{mailbox('alice@books.test').id}/delete")
    going = text.split('id="addresses-going"', 1)[1].split("</p>", 1)[0]
    assert "alice@books.test" in going and "team@" not in going
    staying = text.split('id="addresses-staying"', 1)[1].split("</p>", 1)[0]
    assert "team@books.test" in staying


def test_a_system_user_delete_page_names_its_web_apps(web, books, hosting):
    user = system_user(books)
    db.session.add(WebApp(account_id=books.id, system_user=user, name="shop", kind="static", status="applied"))
    db.session.commit()
    text = page(web, f"/system-users/{user.id}/delete")
    assert "shop" in text.split('id="apps-going"', 1)[1].split("</p>", 1)[0]


@pytest.fixture
def bakery_of_resell(web, make_account, mailhost):
    """Reseller Resell (logged in) and its sub-account Bakery with a mailbox, made from inside."""
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    child = make_account("Bakery", parent=reseller, email="owner@bakery.test", domains=("bakery.test",))
    web.login("boss@resell.test")
    web.submit("/", {"account_id": child.id}, post_url="/reseller/switch")
    new_mailbox(web, "orders", domain="bakery.test")
    web.submit("/", {"account_id": 0}, post_url="/reseller/switch")
    return child


def test_suspending_a_sub_account_asks_first_and_says_what_stops(web, bakery_of_resell):
    child = bakery_of_resell
    url = f"/reseller/accounts/{child.id}/suspend"
    text = page(web, url)
    assert "Suspend Bakery?" in text
    assert "1 mailbox" in text and "mail" in text.lower()
    assert "log in" in text
    assert db.session.get(Account, child.id).active  # the page alone changes nothing

    done = web.submit(url, {})
    assert done.status_code == 302
    assert not db.session.get(Account, child.id).active


def test_the_accounts_list_links_to_the_suspend_page(web, bakery_of_resell):
    text = page(web, "/reseller/accounts")
    assert f'href="/reseller/accounts/{bakery_of_resell.id}/suspend"' in text
    assert f'action="/reseller/accounts/{bakery_of_resell.id}/suspend"' not in text


def flashed(web, response) -> str:
    """The page a POST led to, with its flash."""
    assert response.status_code == 302, response.status_code
    return page(web, response.location)


@pytest.fixture
def books_for_staff(web, books, make_staff):
    """Books with a mailbox; staff logged in."""
    new_mailbox(web, "alice", domain="books.test")
    web.logout()
    make_staff()
    web.login("staff@hostdeck.test")
    return books


def test_staff_suspending_an_account_asks_first_and_says_what_stops(web, books_for_staff):
    books = books_for_staff
    url = f"/staff/accounts/{books.id}/suspend"
    overview = page(web, f"/staff/accounts/{books.id}")
    assert f'href="{url}"' in overview and f'action="{url}"' not in overview  # a link to the page that asks

    text = page(web, url)
    assert "Suspend Books?" in text
    stopping = text.split('id="stopping"', 1)[1].split("</ul>", 1)[0]
    assert "1 mailbox" in stopping and "mail logins stop" in stopping
    assert "log in" in text and "Nothing is deleted" in text
    assert f'href="/staff/accounts/{books.id}"' in text  # the way back, keeping it running
    assert db.session.get(Account, books.id).active  # the page alone changes nothing

    done = web.submit(url, {})
    assert done.location.endswith(f"/staff/accounts/{books.id}")
    assert not db.session.get(Account, books.id).active
    assert "Books is suspended; 1 service is being updated." in flashed(web, done)  # a plural that agrees
    again = page(web, url)
    assert "Books is suspended already." in again and 'method="post">' not in again.split('id="main"', 1)[1]


def test_staff_resuming_an_account_asks_first_and_says_what_comes_back(web, books_for_staff):
    books = books_for_staff
    assert web.submit(f"/staff/accounts/{books.id}/suspend", {}).status_code == 302
    url = f"/staff/accounts/{books.id}/resume"
    overview = page(web, f"/staff/accounts/{books.id}")
    assert f'href="{url}"' in overview and f'action="{url}"' not in overview

    text = page(web, url)
    assert "Resume Books?" in text
    assert "1 mailbox" in text.split('id="resuming"', 1)[1].split("</ul>", 1)[0]
    assert not db.session.get(Account, books.id).active

    done = web.submit(url, {})
    assert db.session.get(Account, books.id).active
    assert "Books is active again; 1 service is being updated." in flashed(web, done)


def test_staff_suspend_counts_agree_in_the_plural(web, books_for_staff):
    books = books_for_staff
    db.session.add(
        Mailbox(account_id=books.id, domain_id=domain_id("books.test"), local_part="bob", status=Status.APPLIED)
    )
    db.session.commit()
    url = f"/staff/accounts/{books.id}/suspend"
    assert "2 mailboxes" in page(web, url)
    assert "Books is suspended; 2 services are being updated." in flashed(web, web.submit(url, {}))


def test_staff_suspending_a_reseller_says_its_sub_accounts_keep_running(web, make_account, make_staff):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    make_account("Bakery", parent=reseller, email="owner@bakery.test")
    make_staff()
    web.login("staff@hostdeck.test")
    text = page(web, f"/staff/accounts/{reseller.id}/suspend")
    assert "Its 1 sub-account keeps running" in text
    assert "only its portal logins stop" in text


def test_only_staff_reach_the_suspend_pages(web, books):
    for action in ("suspend", "resume"):
        assert web.get(f"/staff/accounts/{books.id}/{action}").status_code == 404
    assert web.submit("/", {}, post_url=f"/staff/accounts/{books.id}/suspend").status_code == 404
    assert db.session.get(Account, books.id).active


def test_an_account_being_deleted_is_neither_suspended_nor_resumed(web, make_account, make_staff):
    gone = make_account("Gone")
    gone.active, gone.deleting_at = False, utcnow()
    db.session.commit()
    make_staff()
    web.login("staff@hostdeck.test")
    assert "Gone is being deleted." in page(web, f"/staff/accounts/{gone.id}/resume")
    assert web.submit(f"/staff/accounts/{gone.id}", {}, post_url=f"/staff/accounts/{gone.id}/resume").status_code == 302
    assert db.session.get(Account, gone.id).active is False
