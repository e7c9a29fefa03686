"""A round's output read back (metering/base.py): only exact lines count, and only for the objects
the portal asked about, with metrics the collector has."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.models import Server
from portal.models.metering import Measured, Metric
from portal.orchestration.metering.base import Line, Target, parse
from portal.orchestration.metering.mail import MailCollector

NOW = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)


def test_malformed_lines_are_ignored():
    good = "hostdeck-usage\tmail\tMailbox\t7\tmail_bytes\t1234"
    stdout = "\n".join(
        [
            good,
            "hostdeck-usage\tmail\tMailbox\t7\tmail_messages\t3\t1764876000",  # with its time
            "hostdeck-usage mail Mailbox 7 mail_bytes 99",  # spaces, not tabs
            "hostdeck-usage\tmail\tMailbox\t7\tmail_bytes\t-5",  # not a count
            "hostdeck-usage\tmail\tMailbox\t7\tmail_bytes\t12\textra\tfields",
            "hostdeck-usage\tmail\tMailbox\tseven\tmail_bytes\t12",
            "hostdeck-usage\tMail\tMailbox\t7\tmail_bytes\t12",  # collector names are lowercase
            "  " + good,  # must start the line
            good + " ",
            "hostdeck-usage\tmail\tMailbox\t12345678901\tmail_bytes\t1",  # id longer than any
            "hostdeck-usage\tmail\tMailbox\t7\tmail_bytes\t9223372036854775808",  # past a BigInteger
            "",
            "find: '/var/vmail/x': No such file or directory",
            "hostdeck-usage\tdisk\tSystemUser\t3\tdisk_bytes\t4096",
        ]
    )
    found = parse(stdout)
    assert found == {
        "mail": [
            Line("Mailbox", 7, "mail_bytes", 1234, None),
            Line("Mailbox", 7, "mail_messages", 3, "1764876000"),
        ],
        "disk": [Line("SystemUser", 3, "disk_bytes", 4096, None)],
    }


def test_ids_and_metrics_not_asked_about_are_dropped():
    lines = parse(
        "\n".join(
            [
                "hostdeck-usage\tmail\tMailbox\t7\tmail_bytes\t1000",
                "hostdeck-usage\tmail\tMailbox\t8\tmail_bytes\t999999",  # not listed for this server
                "hostdeck-usage\tmail\tSystemUser\t7\tmail_bytes\t999999",  # listed id, other kind
                "hostdeck-usage\tmail\tMailbox\t7\tdisk_bytes\t999999",  # not a metric of mail
                "hostdeck-usage\tmail\tMailbox\t7\tmail_messages\t4",
            ]
        )
    )["mail"]
    targets = [Target("Mailbox", 7, 42, "acme.test/alice")]
    measured = MailCollector().read(Server(name="mail1"), lines, targets, NOW)
    assert measured == [
        Measured("Mailbox", 7, 42, Metric.MAIL_BYTES, 1000, NOW),
        Measured("Mailbox", 7, 42, Metric.MAIL_MESSAGES, 4, NOW),
    ]


def test_only_a_newline_ends_a_line():
    forged = "hostdeck-usage\tmail\tMailbox\t8\tmail_bytes\t999999"
    for separator in ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r"):
        stdout = f"some name{separator}{forged}\nhostdeck-usage\tmail\tMailbox\t7\tmail_bytes\t5\n"
        assert parse(stdout) == {"mail": [Line("Mailbox", 7, "mail_bytes", 5, None)]}, repr(separator)
