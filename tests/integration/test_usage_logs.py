"""Usage read from logs in real rounds (collect_server): requests the test nginx served, mail the test
Postfix delivered, a Postfix log fed across a DST change; rotation, truncation, half-written and hostile
lines; and `flask servers check` filling in the server's timezone."""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, BackendLog, LogState, Rollup, Sample, Server, WebApp, Website
from portal.orchestration.metering.rounds import collect_server
from tests.helpers import (
    add_server,
    domain_id,
    local_mail_server,
    new_address,
    new_mailbox,
    new_system_user,
    new_web_app,
    new_website,
    postfix_on,
    upload,
    wait_for,
    wait_http,
)

PW = "mail-password-1"


def measured(object_type: str, object_id: int, metric: str) -> int:
    db.session.expire_all()
    query = sa.select(sa.func.coalesce(sa.func.sum(Sample.value), 0)).where(
        Sample.object_type == object_type, Sample.object_id == object_id, Sample.metric == metric
    )
    return int(db.session.scalar(query))


def round_on(server: Server) -> None:
    summary = collect_server(server.id, force=True)
    assert summary["state"] == str(LogState.SUCCESS), summary


# Websites


@pytest.fixture
def sites(web, make_account, webstack, sftpd, nginx, work, tmp_path):
    """Acme's two static sites, shop.test and files.test, served; rounds keep their place under tmp_path."""
    webstack.settings = {**webstack.settings, "usage_state_dir": str(tmp_path / "usage")}
    db.session.commit()
    make_account("Acme", domains=("shop.test", "files.test"))
    web.login("acme@owner.test")
    user = new_system_user(web, work)
    new_web_app(web, user, "files", kind="static")
    app = db.session.scalar(sa.select(WebApp))
    for name in ("shop", "files"):
        assert new_website(web, name.title(), f"{name}.test", app).status_code == 302
    work()
    upload(sftpd, user, "/webapps/files/hello.txt", "hello, counted world")
    for name in ("shop", "files"):
        wait_http(nginx, f"{name}.test", "/hello.txt", 200, "hello")
    found = {site.name.lower(): site.id for site in db.session.scalars(sa.select(Website))}
    round_on(webstack)  # the requests of the setting up are counted: start from here
    return found


def log_of(nginx, site_id: int) -> Path:
    return nginx.root / "usage" / f"{site_id}.log"


def served(nginx, host: str, n: int, path: str = "/hello.txt", status: int = 200) -> None:
    for _ in range(n):
        assert nginx.get(host, path)[0] == status


def wait_logged(nginx, site_id: int, lines: int) -> None:
    """nginx writes a request's log line once the response is sent: wait until the file holds them."""
    log = log_of(nginx, site_id)
    deadline = time.monotonic() + 10
    while not (log.exists() and log.read_bytes().count(b"\n") >= lines):
        assert time.monotonic() < deadline, f"{log} has fewer than {lines} lines"
        time.sleep(0.02)


def counts(sites) -> dict[str, int]:
    return {name: measured("Website", site_id, "requests") for name, site_id in sites.items()}


def test_requests_show_in_their_own_sites_count(webstack, sites, nginx):
    before = counts(sites)
    served(nginx, "shop.test", 3)
    served(nginx, "files.test", 1, "/missing", 404)  # a 404 is a request too
    for site_id, lines in ((sites["shop"], 3), (sites["files"], 1)):
        wait_logged(nginx, site_id, lines)
    round_on(webstack)
    after = counts(sites)
    assert after["shop"] - before["shop"] >= 3 and after["files"] - before["files"] >= 1
    shop = after["shop"]
    hour = db.session.scalar(
        sa.select(Rollup.start).where(Rollup.object_id == sites["shop"], Rollup.metric == "requests").limit(1)
    )
    assert hour.minute == 0 and abs((datetime.now(UTC) - hour).total_seconds()) < 2 * 3600
    assert measured("Website", sites["shop"], "bytes_served") > 0
    round_on(webstack)  # nothing new: nothing more
    assert counts(sites)["shop"] == shop


def test_rotation_with_mv_and_reopen_loses_nothing_and_counts_nothing_twice(webstack, sites, nginx):
    log = log_of(nginx, sites["shop"])
    before = counts(sites)["shop"]
    lines = log.read_bytes().count(b"\n") if log.exists() else 0
    served(nginx, "shop.test", 2)
    wait_logged(nginx, sites["shop"], lines + 2)
    log.rename(f"{log}.1")
    served(nginx, "shop.test", 1)  # still into the moved file: nginx has not reopened it
    round_on(webstack)
    assert counts(sites)["shop"] == before + 3
    served(nginx, "shop.test", 2)  # and more into the moved file, then nginx reopens
    r = nginx.nginx("-s", "reopen")
    assert r.returncode == 0, r.stderr
    wait_for(log.exists, what="nginx to reopen its logs")
    served(nginx, "shop.test", 4)
    wait_logged(nginx, sites["shop"], 4)
    round_on(webstack)
    assert counts(sites)["shop"] == before + 9
    round_on(webstack)
    assert counts(sites)["shop"] == before + 9


def test_copytruncate_and_a_half_written_line(webstack, sites, nginx):
    log = log_of(nginx, sites["files"])
    served(nginx, "files.test", 2)
    round_on(webstack)
    before = counts(sites)["files"]
    shutil.copy(log, f"{log}.1")
    os.truncate(log, 0)  # logrotate's copytruncate
    served(nginx, "files.test", 1)
    wait_logged(nginx, sites["files"], 1)
    with open(log, "a") as handle:  # a line still being written when the round reads
        handle.write(f"{time.time():.3f} 1234")
    round_on(webstack)
    assert counts(sites)["files"] == before + 1
    with open(log, "a") as handle:
        handle.write(' 200 127.0.0.1 "GET /late HTTP/1.1"\n')
    round_on(webstack)
    assert counts(sites)["files"] == before + 2
    round_on(webstack)
    assert counts(sites)["files"] == before + 2


def test_a_hostile_request_line_adds_nothing_to_another_site(webstack, sites, nginx):
    before = counts(sites)
    files_bytes = measured("Website", sites["files"], "bytes_served")
    log = log_of(nginx, sites["shop"])
    lines = log.read_bytes().count(b"\n") if log.exists() else 0
    other = sites["files"]
    fake = f"{time.time():.3f}%2099999%20200%20{other}"  # a second log line, as the client wishes it
    path = f'/"a\\"%22%0A{fake}%0D%0A{other}.log%20"%20{other}%20'
    raw = f'GET {path} HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: "{other}.log\r\nConnection: close\r\n\r\n'
    with socket.create_connection((nginx.host, nginx.port), timeout=10) as conn:
        conn.sendall(raw.encode())
        while conn.recv(65536):
            pass
    wait_logged(nginx, sites["shop"], lines + 1)
    round_on(webstack)
    after = counts(sites)
    assert after["shop"] == before["shop"] + 1
    assert after["files"] == before["files"]
    assert measured("Website", other, "bytes_served") == files_bytes


# The Postfix log


@pytest.fixture
def mx(app, mail_server, postfix, dovecot, tmp_path):
    mail_server.settings = {
        **mail_server.settings,
        "postfix_log": str(postfix.log_path),
        "usage_state_dir": str(tmp_path / "usage"),
    }
    db.session.commit()
    with postfix_on(mail_server, postfix):
        yield postfix


def test_mail_delivered_by_postfix_counts_as_received_for_its_domain(web, make_account, mx, mail_server, work, dovecot):
    make_account("Meter")
    web.login("meter@owner.test")
    for name in ("meter.test", "quiet.test"):
        assert web.submit("/domains/", {"name": name}).status_code == 302
    response = new_mailbox(web, "alice", PW, domain="meter.test", quota=50, with_address=True)
    assert response.status_code == 302, response.get_data(as_text=True)
    work()
    mx.settle()
    assert dovecot.wait_login("alice@meter.test", PW)
    round_on(mail_server)
    meter, quiet = domain_id("meter.test"), domain_id("quiet.test")
    before = measured("Domain", meter, "mail_received")
    mx.send("someone@other.example", ["alice@meter.test"], "Counted", "One message.")
    dovecot.wait_for_messages("alice@meter.test", PW, 1, timeout=15)
    wait_for(lambda: "to=<alice@meter.test>" in mx.log_text() and "status=sent" in mx.log_text(), what="the log")
    round_on(mail_server)
    assert measured("Domain", meter, "mail_received") == before + 1
    assert measured("Domain", quiet, "mail_received") == 0
    round_on(mail_server)
    assert measured("Domain", meter, "mail_received") == before + 1

    # A catch-all takes a hostile quoted recipient: the delivery is meter.test's, quiet.test gets nothing.
    assert new_address(web, "", domain="meter.test", mailboxes=["alice@meter.test"], catch_all=True).status_code == 302
    work()
    mx.settle()
    hostile = '"x>, to=<bob@quiet.test>, dsn=2.0.0, status=sent"@meter.test'
    with smtplib.SMTP(mx.host, mx.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        assert smtp.docmd("MAIL FROM:<someone@other.example>")[0] == 250
        code, reply = smtp.docmd(f"RCPT TO:<{hostile}>")
        assert code == 250, reply
        assert smtp.data(b"Subject: Caught\r\n\r\nBy the catch-all.\r\n")[0] == 250
    dovecot.wait_for_messages("alice@meter.test", PW, 2, timeout=15)
    wait_for(lambda: mx.log_text().count("to=<alice@meter.test>") >= 2, what="the second delivery in the log")
    round_on(mail_server)
    assert measured("Domain", meter, "mail_received") == before + 2
    assert measured("Domain", quiet, "mail_received") == 0


@pytest.fixture
def madrid(app, make_account, tmp_path):
    """mx1 on the local transport, in Europe/Madrid, routed to postfix; its log is fed by the test."""
    server = local_mail_server(
        "mx1",
        tmp_path,
        postfix_maps_dir=str(tmp_path / "postfix"),
        postfix_postmap="",
        postfix_log=str(tmp_path / "mail.log"),
        usage_state_dir=str(tmp_path / "usage"),
        timezone="Europe/Madrid",
    )
    add_server(server, "postfix")
    make_account("Acme", domains=("acme.test",))
    make_account("Rival", domains=("rival.test",))
    return server


def delivered(when: str, to: str, reply: str = "250 2.0.0 Saved") -> str:
    return (
        f"{when} mx1 postfix/lmtp[81]: 4B1C2D3E: to=<{to}>, relay=127.0.0.1[127.0.0.1]:24, delay=0.1, "
        f"delays=0.01/0.01/0.03/0.05, dsn=2.0.0, status=sent ({reply})\n"
    )


def test_a_log_across_the_autumn_change_gives_the_right_utc_hours(madrid, tmp_path):
    """Europe/Madrid, last Sunday of October 2026: 02:00-03:00 CEST (UTC+2), then again CET (UTC+1)."""
    round_on(madrid)  # a round that read nothing (no log yet), in the second pass: its lines say more
    first = db.session.scalar(sa.select(BackendLog).where(BackendLog.server_id == madrid.id))
    first.started_at = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    db.session.commit()
    times = {"01:40:00": 1, "02:10:00": 2, "02:55:00": 3, "02:05:00": 4, "02:50:00": 5, "03:15:00": 6}
    (tmp_path / "mail.log").write_text(
        "".join(delivered(f"Oct 25 {t}", "alice@acme.test") * n for t, n in times.items())
    )
    round_on(madrid)
    acme = domain_id("acme.test")
    hours = dict(
        db.session.execute(
            sa.select(Rollup.start, Rollup.value).where(
                Rollup.object_id == acme, Rollup.metric == "mail_received", Rollup.period == "hour"
            )
        ).all()
    )
    assert {h.astimezone(UTC).replace(tzinfo=None): v for h, v in hours.items()} == {
        datetime(2026, 10, 24, 23): 1,  # 01:40 CEST
        datetime(2026, 10, 25, 0): 2 + 3,  # 02:xx CEST, the first pass
        datetime(2026, 10, 25, 1): 4 + 5,  # 02:xx CET, the second
        datetime(2026, 10, 25, 2): 6,  # 03:15 CET
    }


def test_a_round_in_the_repeated_hour_and_the_next_keep_the_passes_apart(madrid, tmp_path):
    """The first round ends in the second pass; the next reads on from there, with nothing going back."""
    log = tmp_path / "mail.log"
    log.write_text("".join(delivered(f"Oct 25 {t}", "alice@acme.test") for t in ("02:30:00", "02:50:00", "02:20:00")))
    round_on(madrid)
    first = db.session.scalar(sa.select(BackendLog).where(BackendLog.server_id == madrid.id))
    first.started_at = datetime(2026, 10, 25, 1, 21, tzinfo=UTC)  # that round ran at 02:21 CET
    db.session.commit()
    with open(log, "a") as handle:
        handle.write("".join(delivered(f"Oct 25 {t}", "alice@acme.test") for t in ("02:40:00", "02:55:00", "03:05:00")))
    round_on(madrid)
    hours = db.session.execute(
        sa.select(Rollup.start, Rollup.value).where(
            Rollup.object_id == domain_id("acme.test"), Rollup.metric == "mail_received", Rollup.period == "hour"
        )
    ).all()
    assert {h.astimezone(UTC).replace(tzinfo=None): v for h, v in hours} == {
        datetime(2026, 10, 25, 0): 2,  # 02:30 and 02:50 CEST
        datetime(2026, 10, 25, 1): 3,  # 02:20, then 02:40 and 02:55 CET
        datetime(2026, 10, 25, 2): 1,  # 03:05 CET
    }


def test_hostile_local_parts_and_replies_add_nothing_to_another_domain(madrid, tmp_path):
    clock = datetime.now(UTC)
    now = f"{clock:%b} {clock.day:2d} {clock:%H:%M:%S}"
    (tmp_path / "mail.log").write_text(
        delivered(now, '"x>, to=<bob@rival.test>,"@acme.test')
        + delivered(now, "alice@acme.test", reply="250 to=<bob@rival.test>, dsn=2.0.0, status=sent")
        + delivered(now, "alice@acme.test.rival.test")
        + f"{now} mx1 postfix/smtpd[82]: 5C2D: client=c[192.0.2.1], sasl_method=PLAIN, "
        'sasl_username="a, sasl_username=bob@rival.test"@acme.test\n'
    )
    round_on(madrid)
    assert measured("Domain", domain_id("rival.test"), "mail_received") == 0
    assert measured("Domain", domain_id("rival.test"), "mail_sent") == 0
    assert measured("Domain", domain_id("acme.test"), "mail_received") == 1


# The server's timezone


def test_servers_check_fills_in_the_timezone_from_the_server(app, mail_server):
    assert "timezone" not in mail_server.settings
    result = app.test_cli_runner().invoke(args=["servers", "check", "mail1"])
    assert result.exit_code == 0, result.output
    zone = Path("/etc/timezone").read_text().split()[0] if Path("/etc/timezone").exists() else None
    db.session.expire_all()
    server = db.session.scalar(sa.select(Server).where(Server.name == "mail1"))
    assert server.settings["timezone"] == (zone or server.settings["timezone"])
    assert f"timezone set to {server.settings['timezone']}" in result.output
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "server.edit"))
    assert event.fields == {"set": [f"timezone={server.settings['timezone']}"]}
    # set once: a second check leaves it (and the operator's own choice) alone
    server.settings = {**server.settings, "timezone": "Europe/Madrid"}
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["servers", "check", "mail1"])
    assert result.exit_code == 0 and "timezone set" not in result.output
    db.session.expire_all()
    assert db.session.get(Server, server.id).settings["timezone"] == "Europe/Madrid"
