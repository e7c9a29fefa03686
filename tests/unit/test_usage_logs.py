"""The incremental log reader and the collectors' awk programs, run by bash with mawk and with gawk on
files in a temporary folder; the local-time reading of syslog timestamps."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from portal.orchestration.metering.base import Line, Target, parse
from portal.orchestration.metering.mail_log import MailLogCollector, local_hour
from portal.orchestration.metering.web import WebCollector
from portal.orchestration.script import Script

AWKS = [name for name in ("mawk", "gawk") if shutil.which(name)]
if os.environ.get("CI") == "true":
    assert AWKS == ["mawk", "gawk"], "mawk and gawk are both needed"


class FakeServer:
    def __init__(self, **settings: object) -> None:
        self.settings = settings
        self.measured_at: datetime | None = None

    def setting(self, key: str, default: object = None) -> object:
        return self.settings.get(key, default)


@pytest.fixture(params=AWKS)
def awk(request, tmp_path) -> Path:
    """A PATH folder whose `awk` is mawk or gawk."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "awk").symlink_to(shutil.which(request.param))
    return folder


def run(script: Script, awk: Path) -> str:
    env = {**os.environ, "PATH": f"{awk}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", 'eval "$(cat)"'], input=script.text, capture_output=True, text=True, env=env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout


class Sites:
    """Two sites' logs and the web collector's rounds over them."""

    def __init__(self, root: Path, awk: Path) -> None:
        self.logs = root / "logs"
        self.logs.mkdir()
        self.awk = awk
        self.server = FakeServer(usage_state_dir=str(root / "state"), nginx_usage_log_dir=str(self.logs))
        self.targets = [Target("Website", n, 1, str(self.logs / f"{n}.log")) for n in (7, 8)]

    def log(self, site: int) -> Path:
        return self.logs / f"{site}.log"

    def write(self, site: int, text: str, log: Path | None = None) -> None:
        with open(log or self.log(site), "a") as handle:
            handle.write(text)

    def round(self) -> dict[tuple[int, str, int], int]:
        script = Script()
        WebCollector().measure(script, self.server, self.targets)  # type: ignore[arg-type]
        found: dict[tuple[int, str, int], int] = {}
        for line in parse(run(script, self.awk)).get("web", []):
            key = (line.object_id, line.metric, int(line.at or 0))
            found[key] = found.get(key, 0) + line.value
        return found

    def requests(self) -> dict[int, int]:
        found: dict[int, int] = {}
        for (site, metric, _hour), value in self.round().items():
            if metric == "requests":
                found[site] = found.get(site, 0) + value
        return found


def request(at: float, sent: int = 100, rest: str = '1.2.3.4 "GET / HTTP/1.1"') -> str:
    return f"{at:.3f} {sent} 200 {rest}\n"


@pytest.fixture
def sites(tmp_path, awk) -> Sites:
    return Sites(tmp_path, awk)


def test_requests_and_bytes_per_site_and_utc_hour(sites):
    sites.write(7, request(7200.5, 100) + request(10799.9, 50) + request(10800.0, 7))
    sites.write(8, request(7300, 1))
    assert sites.round() == {
        (7, "requests", 7200): 2,
        (7, "bytes_served", 7200): 150,
        (7, "requests", 10800): 1,
        (7, "bytes_served", 10800): 7,
        (8, "requests", 7200): 1,
        (8, "bytes_served", 7200): 1,
    }
    assert sites.round() == {}  # nothing new


def test_a_half_written_line_waits_and_counts_once(sites):
    sites.write(7, request(7200, 10) + "7201.000 2")
    assert sites.requests() == {7: 1}
    sites.write(7, "0 200 x\n")
    assert sites.round() == {(7, "requests", 7200): 1, (7, "bytes_served", 7200): 20}
    assert sites.round() == {}


def test_rotation_by_mv_loses_nothing_and_counts_nothing_twice(sites):
    sites.write(7, request(7200) * 3)
    assert sites.requests() == {7: 3}
    sites.write(7, request(7200) * 2)
    sites.log(7).rename(f"{sites.log(7)}.1")
    # nginx has not reopened yet: it still writes to the moved file
    sites.write(7, request(7200), Path(f"{sites.log(7)}.1"))
    assert sites.requests() == {7: 3}
    sites.write(7, request(7200) * 4, Path(f"{sites.log(7)}.1"))  # more before the reopen
    sites.write(7, request(7200) * 5)  # reopened: a new file
    assert sites.requests() == {7: 9}
    sites.write(7, request(7200))
    assert sites.requests() == {7: 1}


def test_rotation_between_rounds_reads_the_rest_of_the_old_file_first(sites):
    sites.write(7, request(7200) * 2)
    sites.round()
    sites.write(7, request(7200) * 3 + "7200.000 1")  # and a torn last line: it never completes
    sites.log(7).rename(f"{sites.log(7)}.1")
    sites.write(7, request(7200) * 4)
    assert sites.requests() == {7: 7}
    assert sites.round() == {}


def test_copytruncate_reads_the_file_again_from_the_start(sites):
    sites.write(7, request(7200) * 5)
    sites.round()
    shutil.copy(sites.log(7), f"{sites.log(7)}.1")
    sites.log(7).write_text("")
    sites.write(7, request(7200) * 2)
    assert sites.requests() == {7: 2}


def test_a_hostile_request_line_counts_once_for_its_own_site(sites):
    fake = '8 1 200 x "GET /\\x0A1733300000.000 999999 200 8"'  # nginx escapes a newline as \x0A
    hostile = request(7200, 10, f'1.2.3.4 "GET /{"x" * 50} 8.log \\" 999 " {fake}')
    sites.write(7, hostile + "8 999 200 not a request of this format\n" + "garbage\n")
    assert sites.round() == {(7, "requests", 7200): 1, (7, "bytes_served", 7200): 10}


def test_a_line_that_looks_like_a_part_header_is_only_a_line(sites):
    sites.write(7, "hostdeck-part-0123 8 1 0\n" + request(7200))
    assert sites.requests() == {7: 1}


def test_sites_without_a_log_yet_and_gone_sites(sites):
    assert sites.round() == {}
    sites.write(8, request(7200))
    sites.targets = sites.targets[1:]
    assert sites.requests() == {8: 1}
    state = Path(sites.server.settings["usage_state_dir"]) / "web.state"  # type: ignore[arg-type]
    assert [line.split()[0] for line in state.read_text().splitlines()] == ["8"]


# The Postfix log

DOMAINS = [Target("Domain", 11, 1, "acme.test"), Target("Domain", 12, 2, "other.test")]


def mail_round(tmp_path: Path, awk: Path, text: str) -> list[Line]:
    log = tmp_path / "mail.log"
    with open(log, "a") as handle:
        handle.write(text)
    server = FakeServer(usage_state_dir=str(tmp_path / "state"), postfix_log=str(log))
    script = Script()
    MailLogCollector().measure(script, server, DOMAINS)  # type: ignore[arg-type]
    return sorted(parse(run(script, awk)).get("mail_log", []), key=lambda x: (x.object_id, x.metric, x.at or ""))


def lmtp(to: str, when: str = "Oct 25 01:30:00", more: str = "", status: str = "sent", reply: str = "250 ok") -> str:
    return (
        f"{when} mx1 postfix/lmtp[81]: 4B1C2D3E: to=<{to}>, {more}relay=127.0.0.1[127.0.0.1]:24, delay=0.1, "
        f"delays=0.01/0.01/0.03/0.05, dsn={'2.0.0' if status == 'sent' else '4.0.0'}, status={status} ({reply})\n"
    )


def sasl(login: str, when: str = "Oct 25 01:30:00", more: str = "") -> str:
    return f"{when} mx1 postfix/submission/smtpd[82]: 5C2D: client=c.example[192.0.2.1]:5555, sasl_method=PLAIN, sasl_username={login}{more}\n"


def test_mail_received_and_sent_per_domain(tmp_path, awk):
    lines = mail_round(
        tmp_path,
        awk,
        lmtp("alice@acme.test")
        + lmtp("Bob@ACME.test", more="orig_to=<sales@acme.test>, ")
        + lmtp("dan@acme.test", status="deferred")
        + lmtp("eve@elsewhere.test")
        + sasl("alice@acme.test")
        + sasl("bob@acme.test", more=", sasl_sender=bob@acme.test")
        + sasl("carol")  # a login with no domain counts for none
        + "Oct 25 01:30:00 mx1 postfix/smtp[83]: 6D: to=<x@acme.test>, relay=mx.example[192.0.2.9]:25, "
        "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 relayed)\n"  # relayed, not delivered here
         + lmtp("carol@other.test", when="Oct 25 01:59:59.123456"),
    )
    assert lines == [
        Line("Domain", 11, "mail_received", 2, "1025010"),
        Line("Domain", 11, "mail_sent", 2, "1025010"),
        Line("Domain", 12, "mail_received", 1, "1025010"),
    ]


def test_hostile_local_parts_and_replies_add_nothing_to_another_domain(tmp_path, awk):
    lines = mail_round(
        tmp_path,
        awk,
        lmtp('"x>, to=<a@other.test>,"@acme.test')  # quoted: taken for nobody
        + lmtp("a@acme.test", status="bounced", reply="550 ok, status=sent to=<a@other.test>, dsn=2.0.0,")
        + lmtp(  # a quoted original recipient is skipped whole: the fields after it decide
            "a@acme.test",
            more='orig_to=<"b>, relay=x, delay=1, delays=1, dsn=2.0.0, status=sent \\" (x"@acme.test>, ',
            status="deferred",
        )
        + lmtp("b@acme.test", more='orig_to=<"x>, to=<b@other.test>, \\"q\\" "@acme.test>, ')
        + lmtp("c@acme.test", more='orig_to=<"never closed@acme.test>, ')
        + lmtp("a@acme.test", reply="250 2.0.0 to=<z@other.test>, status=sent")  # counts for acme only
        + lmtp("a@other.test.evil")
        + lmtp("a@sub.acme.test")
        + sasl('"x, sasl_username=a@other.test"@acme.test')
        + sasl("a@acme.test", more=" sasl_username=b@other.test")
        + "Oct 25 01:30:00 mx1 postfix/cleanup[84]: 7E: to=<a@other.test>, relay=x, delay=1, delays=1, dsn=2.0.0, "
        "status=sent (a line of another program)\n",
    )
    assert lines == [Line("Domain", 11, "mail_received", 2, "1025010")]


def test_rfc3339_timestamps_are_utc_hours_already(tmp_path, awk):
    lines = mail_round(
        tmp_path,
        awk,
        lmtp("a@acme.test", when="2026-10-25T02:30:00.123456+02:00 ")  # 00:30 UTC
        + lmtp("a@acme.test", when="2026-10-25T02:10:00+01:00")  # 01:10 UTC
        + lmtp("a@acme.test", when="2026-10-25T01:59:59Z")
        + lmtp("a@acme.test", when="2026-10-25T01:59:59-03:30"),  # 05:29:59 UTC
    )
    epoch = int(datetime(2026, 10, 25, tzinfo=UTC).timestamp())
    assert [(x.value, int(x.at or 0) - epoch) for x in lines] == [(1, 0), (2, 3600), (1, 5 * 3600)]


def test_the_repeated_autumn_hour_is_marked_as_its_second_pass(tmp_path, awk):
    times = ["01:50:00", "02:15:00", "02:59:30", "02:59:10", "02:05:00", "02:40:00", "02:59:50", "03:10:00"]
    lines = mail_round(tmp_path, awk, "".join(lmtp("a@acme.test", when=f"Oct 25 {t}") for t in times))
    # 02:59:10 after 02:59:30 is a line written a little late, not the second pass
    assert [(x.at, x.value) for x in lines] == [("1025010", 1), ("1025020", 3), ("1025021", 3), ("1025030", 1)]
    # the next round reads on from where this one stopped
    lines = mail_round(tmp_path, awk, lmtp("a@acme.test", when="Oct 26 09:00:00"))
    assert [(x.at, x.value) for x in lines] == [("1026090", 1)]


def test_the_next_round_goes_on_in_the_second_pass(tmp_path, awk):
    """A round that ends at the change: the next one's lines, which start in the second pass and never go
    back, are marked by what the last one kept beside its place."""
    first = mail_round(
        tmp_path, awk, "".join(lmtp("a@acme.test", when=f"Oct 25 {t}") for t in ("02:30:00", "02:59:40"))
    )
    assert [(x.at, x.value) for x in first] == [("1025020", 2)]
    state = (tmp_path / "state" / "mail_log.state").read_text().split()
    assert len(state) == 6 and state[0] == "1"
    later = "".join(lmtp("a@acme.test", when=f"Oct 25 {t}") for t in ("02:01:00", "02:30:00", "03:00:10"))
    assert [(x.at, x.value) for x in mail_round(tmp_path, awk, later)] == [("1025021", 2), ("1025030", 1)]


# Local hours to UTC

MADRID = ZoneInfo("Europe/Madrid")
AFTER_DST = datetime(2026, 10, 25, 3, 0, tzinfo=UTC)


def test_local_hours_across_the_autumn_change():
    utc = [local_hour(key, MADRID, AFTER_DST, None) for key in ("1025010", "1025020", "1025021", "1025030")]
    assert [u.hour if u else None for u in utc] == [23, 0, 1, 2]
    assert utc[0] == datetime(2026, 10, 24, 23, tzinfo=UTC)


def test_the_first_pass_that_cannot_be_is_the_second():
    """The round before read the repeated hour's first pass and some of its second: what is read now
    of that hour is the second pass, though nothing went back in this round's lines."""
    previous = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, in the second pass
    assert local_hour("1025020", MADRID, AFTER_DST, previous) == datetime(2026, 10, 25, 1, tzinfo=UTC)
    soon_after = datetime(2026, 10, 25, 1, 5, tzinfo=UTC)  # 02:05 CET
    assert local_hour("1025020", MADRID, AFTER_DST, soon_after) == datetime(2026, 10, 25, 1, tzinfo=UTC)
    much_later = datetime(2026, 12, 4, tzinfo=UTC)  # a first round on history: the awk's marker decides
    assert local_hour("1025020", MADRID, much_later, much_later) == datetime(2026, 10, 25, 0, tzinfo=UTC)
    early = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)  # 02:40 CEST: the first pass could still be
    assert local_hour("1025020", MADRID, AFTER_DST, early) == datetime(2026, 10, 25, 0, tzinfo=UTC)


def test_the_year_comes_from_the_round():
    new_year = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)  # 01:30 in Madrid
    assert local_hour("1231230", MADRID, new_year, None) == datetime(2026, 12, 31, 22, tzinfo=UTC)
    assert local_hour("0101010", MADRID, new_year, None) == datetime(2027, 1, 1, 0, tzinfo=UTC)
    assert local_hour("0102090", MADRID, new_year, None) == datetime(2026, 1, 2, 8, tzinfo=UTC)  # not tomorrow
    assert local_hour("0229100", MADRID, datetime(2028, 3, 1, tzinfo=UTC), None) == datetime(2028, 2, 29, 9, tzinfo=UTC)
    assert local_hour("0229100", MADRID, new_year, None) is None  # no such day in the years it could be
