"""Usage shown where people look: each object's page (its use against its quota, a 30-day chart with
its numbers in a table), the mailbox list's usage column (one query for the page), the dashboard's
totals, a reseller's sub-accounts' totals and staff's heaviest accounts per server. The figures are
stored as a round stores them (orchestration/metering/store.py)."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

from portal.extensions import db
from portal.models import (
    Database,
    Domain,
    Mailbox,
    Server,
    Status,
    SystemUser,
    User,
    WebApp,
    Website,
    utcnow,
)
from portal.models.metering import Measured, Metric
from portal.orchestration.metering.store import store
from portal.services.usage import object_usage
from tests.helpers import customer_actor, domain_named, page_text
from tests.integration.test_query_counts import counted

MB = 1 << 20
NOT_YET = "Not measured yet: the first round runs within 15 minutes."


@pytest.fixture
def app_config():
    return {"PER_PAGE": 50}


@pytest.fixture
def server():
    found = Server(name="mail1", host="localhost", transport="local", settings={}, measured_at=utcnow())
    db.session.add(found)
    db.session.commit()
    return found


def measure(server, obj, metric, value, days_ago=0, hours_ago=0):
    at = utcnow() - timedelta(days=days_ago, hours=hours_ago)
    store(server.id, [Measured(type(obj).__name__, obj.id, obj.account_id, metric, value, at)])
    db.session.commit()


@pytest.fixture
def things(make_account):
    acme = make_account("Acme", domains=("acme.test",))
    domain = domain_named("acme.test")
    domain.status = Status.APPLIED
    mailbox = Mailbox(account=acme, domain=domain, local_part="info", quota_mb=1024, status=Status.APPLIED)
    user = SystemUser(account=acme, name=f"{acme.assigned_prefix()}_web", status=Status.APPLIED)
    app = WebApp(account=acme, system_user=user, name="shop", kind="static", options={}, status=Status.APPLIED)
    site = Website(account=acme, name="Shop", domains=[domain], status=Status.APPLIED)
    database = Database(account=acme, engine="mariadb", name=f"{acme.assigned_prefix()}_db", status=Status.APPLIED)
    db.session.add_all([mailbox, user, app, site, database])
    db.session.commit()
    return {"mailbox": mailbox, "user": user, "app": app, "site": site, "database": database, "domain": domain}


def chart_rows(html: str, metric: str) -> list[tuple[str, str]]:
    """The screen readers' table of a chart: (day, value) per row."""
    figure = re.search(rf'<figure class="usage-chart[^"]*" data-chart="{metric}">(.*?)</figure>', html, re.S)
    assert figure, f"no chart of {metric}"
    table = re.search(r'<div class="visually-hidden"><table>(.*?)</table></div>', figure.group(1), re.S)
    assert table and "<caption>" in table.group(1), "the chart's numbers are in a table with a caption"
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td></tr>', table.group(1))
    return [(day.strip(), value.strip()) for day, value in rows]


def figure_text(html: str, metric: str) -> str:
    match = re.search(rf'<dd class="col-sm-8" data-metric="{metric}">(.*?)</dd>', html, re.S)
    assert match, f"no figure of {metric}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_every_object_page_shows_its_use_and_its_month(web, things, server):
    mailbox, user, app, site, database, domain = (
        things[k] for k in ("mailbox", "user", "app", "site", "database", "domain")
    )
    measure(server, mailbox, Metric.MAIL_BYTES, 200 * MB, days_ago=3)
    measure(server, mailbox, Metric.MAIL_BYTES, 300 * MB)
    measure(server, mailbox, Metric.MAIL_MESSAGES, 1234)
    measure(server, user, Metric.DISK_BYTES, 2 << 30)
    measure(server, app, Metric.DISK_BYTES, 1536 * 1024)
    measure(server, database, Metric.DATABASE_BYTES, 12 * 1024)
    measure(server, site, Metric.REQUESTS, 100, days_ago=2)
    measure(server, site, Metric.REQUESTS, 50)
    measure(server, site, Metric.REQUESTS, 9999, days_ago=31)  # before the 30 days: not counted
    measure(server, site, Metric.BYTES_SERVED, 5 * MB)
    measure(server, domain, Metric.MAIL_RECEIVED, 7)
    measure(server, domain, Metric.MAIL_SENT, 3)
    web.login("acme@owner.test")

    html = web.get(f"/mailboxes/{mailbox.id}").get_data(as_text=True)
    assert figure_text(html, "mail_bytes").startswith("300 MB of 1,024 MB")
    assert '<progress class="usage-bar usage-ok mt-1" max="100" value="29"' in html
    assert figure_text(html, "mail_messages") == "1,234"
    rows = chart_rows(html, "mail_bytes")
    assert len(rows) == 30 and rows[-1][1] == "300 MB" and rows[-4][1] == "200 MB" and rows[0][1] == "0 bytes"
    assert "days in UTC" in html and "Last measured" in html
    svg = html.split('data-chart="mail_bytes"')[1].split("</svg>")[0]
    assert svg.count('class="chart-bar"') == 30 and 'height="84.0"' in svg  # the highest day fills the plot
    assert re.search(r'<svg viewBox="0 0 300 124" width="100%" aria-hidden="true"', html)
    assert "style=" not in html.split('id="usage"')[1].split("</section>")[0]  # the CSP forbids inline styles

    html = web.get(f"/system-users/{user.id}").get_data(as_text=True)
    assert figure_text(html, "disk_bytes") == "2 GB" and chart_rows(html, "disk_bytes")[-1][1] == "2 GB"
    html = web.get(f"/webapps/{app.id}").get_data(as_text=True)
    assert figure_text(html, "disk_bytes") == "1.5 MB"
    html = web.get(f"/databases/{database.id}").get_data(as_text=True)
    assert figure_text(html, "database_bytes") == "12 KB"
    assert f"/databases/{database.id}" in web.get("/databases/").get_data(as_text=True)  # the list links it
    html = web.get(f"/websites/{site.id}").get_data(as_text=True)
    assert figure_text(html, "requests") == "150" and figure_text(html, "bytes_served") == "5 MB"
    assert [v for _, v in chart_rows(html, "requests")][-3:] == ["100", "0", "50"]
    html = web.get(f"/domains/{domain.id}").get_data(as_text=True)
    assert figure_text(html, "mail_received") == "7" and figure_text(html, "mail_sent") == "3"
    assert chart_rows(html, "mail_sent")[-1][1] == "3"


def test_chart_days_and_sizes_in_the_viewers_language(web, things, server):
    measure(server, things["mailbox"], Metric.MAIL_BYTES, 1536 * MB)
    user = db.session.scalar(sa.select(User).where(User.email == "acme@owner.test"))
    user.locale, user.timezone = "es", "Europe/Madrid"
    db.session.commit()
    web.login("acme@owner.test")
    html = web.get(f"/mailboxes/{things['mailbox'].id}").get_data(as_text=True)
    rows = chart_rows(html, "mail_bytes")
    assert rows[-1][1] == "1,5 GB"
    months = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")
    assert any(m in rows[-1][0] for m in months), rows[-1]
    assert re.search(r"CES?T", html.split('data-usage="measured-at"')[1][:200])  # the viewer's timezone


def test_nothing_measured_says_so(web, things):
    web.login("acme@owner.test")
    for url in (
        f"/mailboxes/{things['mailbox'].id}",
        f"/websites/{things['site'].id}",
        f"/databases/{things['database'].id}",
        "/",
    ):
        assert NOT_YET in page_text(web.get(url)), url


def test_someone_elses_usage_is_not_reachable(web, app, things, server, make_account):
    other = make_account("Other", domains=("other.test",))
    theirs = Mailbox(account=other, domain=domain_named("other.test"), local_part="x", status=Status.APPLIED)
    base = Database(account=other, engine="mariadb", name=f"{other.assigned_prefix()}_db", status=Status.APPLIED)
    db.session.add_all([theirs, base])
    db.session.commit()
    measure(server, theirs, Metric.MAIL_BYTES, 777 * MB)
    measure(server, base, Metric.DATABASE_BYTES, 777 * MB)
    web.login("acme@owner.test")
    assert web.get(f"/mailboxes/{theirs.id}").status_code == 404
    assert web.get(f"/databases/{base.id}").status_code == 404
    assert "777 MB" not in page_text(web.get("/")) and "777 MB" not in page_text(web.get("/mailboxes/"))
    with app.test_request_context(), pytest.raises(NotFound):
        object_usage(customer_actor(), Mailbox, theirs.id)


def test_the_mailbox_list_reads_every_rows_use_in_one_query(web, things, server, app):
    account, domain = things["mailbox"].account, things["domain"]

    def add(n, start):
        boxes = [
            Mailbox(account=account, domain=domain, local_part=f"m{i}", quota_mb=100, status=Status.APPLIED)
            for i in range(start, start + n)
        ]
        db.session.add_all(boxes)
        db.session.commit()
        now = utcnow()
        store(server.id, [Measured("Mailbox", b.id, b.account_id, Metric.MAIL_BYTES, 90 * MB, now) for b in boxes])
        db.session.commit()

    web.login("acme@owner.test")
    add(3, 0)
    with counted() as few:
        html = web.get("/mailboxes/").get_data(as_text=True)
    assert "90 MB of 100 MB" in html and 'class="usage-bar usage-near" max="100" value="90"' in html
    add(40, 3)  # the store moved the account's revision: the kept list is rendered again
    with counted() as many:
        html = web.get("/mailboxes/").get_data(as_text=True)
    assert html.count("90 MB of 100 MB") == 43
    assert len(many) == len(few), (len(few), len(many))


def test_a_round_shows_on_the_kept_mailbox_list(web, things, server):
    web.login("acme@owner.test")
    assert "not measured yet" in page_text(web.get("/mailboxes/"))
    measure(server, things["mailbox"], Metric.MAIL_BYTES, 64 * MB)
    assert "64 MB of 1,024 MB" in page_text(web.get("/mailboxes/"))


def test_the_dashboard_shows_the_accounts_totals_as_bars(web, things, server):
    measure(server, things["mailbox"], Metric.MAIL_BYTES, 512 * MB)
    measure(server, things["user"], Metric.DISK_BYTES, 3 << 30)
    measure(server, things["app"], Metric.DISK_BYTES, 1 << 30)  # inside its user's home: not added again
    measure(server, things["database"], Metric.DATABASE_BYTES, 256 * MB)
    measure(server, things["site"], Metric.BYTES_SERVED, 1 << 30, days_ago=5)
    measure(server, things["site"], Metric.REQUESTS, 4321, days_ago=5)
    measure(server, things["domain"], Metric.MAIL_RECEIVED, 20)
    measure(server, things["domain"], Metric.MAIL_SENT, 10)
    web.login("acme@owner.test")
    html = web.get("/").get_data(as_text=True)
    section = html.split('id="measured"')[1].split("</section>")[0]

    def bar(metric):
        match = re.search(rf'data-metric="{metric}">(.*?)</progress>', section, re.S)
        assert match, metric
        return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()), match.group(1)

    assert bar("mail_bytes")[0].startswith("Mail stored 512 MB of 1,024 MB") and 'value="50"' in bar("mail_bytes")[1]
    assert "3 GB" in bar("disk_bytes")[0] and 'value="100"' in bar("disk_bytes")[1]
    assert "256 MB" in bar("database_bytes")[0]
    assert "1 GB" in bar("bytes_served")[0] and "4,321 requests" in bar("bytes_served")[0]
    assert "20" in bar("mail_received")[0] and 'value="50"' in bar("mail_sent")[1]
    assert "Last measured" in section and NOT_YET not in section


def test_a_reseller_sees_each_sub_accounts_totals(web, server, make_account):
    reseller = make_account("Resell", kind="reseller")
    shop = make_account("Shop", parent=reseller, domains=("shop.test",))
    quiet = make_account("Quiet", parent=reseller)
    stranger = make_account("Stranger", domains=("stranger.test",))
    boxes = [
        Mailbox(account=shop, domain=domain_named("shop.test"), local_part="a", status=Status.APPLIED),
        Mailbox(account=stranger, domain=domain_named("stranger.test"), local_part="b", status=Status.APPLIED),
    ]
    db.session.add_all(boxes)
    db.session.commit()
    measure(server, boxes[0], Metric.MAIL_BYTES, 40 * MB)
    measure(server, boxes[1], Metric.MAIL_BYTES, 999 * MB)
    measure(server, domain_named("shop.test"), Metric.MAIL_RECEIVED, 12)
    web.login("resell@owner.test")
    assert "/reseller/usage" in web.get("/reseller/accounts").get_data(as_text=True)
    html = web.get("/reseller/usage").get_data(as_text=True)
    row = re.search(rf'<tr data-account="{shop.id}">(.*?)</tr>', html, re.S).group(1)
    cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[:6] == ["Shop", "40 MB", "0 bytes", "0 bytes", "0 bytes", "12 / 0"], cells
    quiet_row = re.search(rf'<tr data-account="{quiet.id}">(.*?)</tr>', html, re.S).group(1)
    assert NOT_YET in quiet_row
    assert "Stranger" not in html and "999 MB" not in html
    # The reseller's dashboard adds its sub-accounts' use to its own.
    assert "40 MB" in web.get("/").get_data(as_text=True).split('id="measured"')[1]


def test_staff_see_the_heaviest_accounts_per_server(web, server, make_account, make_staff):
    other = Server(name="web2", host="localhost", transport="local", settings={})
    db.session.add(other)
    accounts = [make_account(f"Heavy{i}", domains=(f"heavy{i}.test",)) for i in range(3)]
    boxes = [
        Mailbox(account=a, domain=domain_named(f"heavy{i}.test"), local_part="m", status=Status.APPLIED)
        for i, a in enumerate(accounts)
    ]
    db.session.add_all(boxes)
    db.session.commit()
    for box, size in zip(boxes, (10, 300, 20), strict=True):
        measure(server, box, Metric.MAIL_BYTES, size * MB)
    make_staff()
    web.login("staff@hostdeck.test")
    assert "/staff/usage" in web.get("/staff/servers").get_data(as_text=True)
    html = web.get("/staff/usage").get_data(as_text=True)
    mail1 = html.split('data-server="mail1"')[1].split("</section>")[0]
    order = re.findall(r'<tr data-account="(\d+)">', mail1)
    assert order == [str(accounts[1].id), str(accounts[2].id), str(accounts[0].id)]
    assert "300 MB" in mail1 and "Heavy1" in mail1
    assert NOT_YET in html.split('data-server="web2"')[1].split("</section>")[0]
    # A customer does not reach it.
    web.logout()
    web.login("heavy0@owner.test")
    assert web.get("/staff/usage").status_code in (403, 404)


def test_a_foreign_domain_has_no_page_either(web, things, server, make_account):
    other = make_account("Other", domains=("other.test",))
    theirs = db.session.scalar(sa.select(Domain).where(Domain.account_id == other.id))
    measure(server, theirs, Metric.MAIL_RECEIVED, 5)
    web.login("acme@owner.test")
    assert web.get(f"/domains/{theirs.id}").status_code == 404
