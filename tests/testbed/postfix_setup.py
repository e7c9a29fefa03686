"""Postfix config for the testbed: main.cf template, master.cf rewrite, system main.cf."""

from __future__ import annotations

from pathlib import Path

SYSTEM_DIR = Path("/etc/postfix")

# Settings asked for by the application's Postfix backend, plus what keeps a
# test instance quiet and local. Unknown names would only warn, so stay exact.
MAIN_CF = """\
# Written by tests/testbed/postfix.py for one test session.
compatibility_level = 3.6
queue_directory = {queue_dir}
# master takes its lock here as the postfix user: must be owned by postfix.
data_directory = {data_dir}
myhostname = testbed.localdomain
inet_interfaces = {host}
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
smtputf8_enable = no
biff = no
# No syslog here: postlogd (master.cf) writes this file, if it is under a prefix.
maillog_file = {log_path}
maillog_file_prefixes = /var, {root}
# Nothing local: no /etc/aliases, no local(8) deliveries.
alias_maps =
alias_database =
local_recipient_maps =

# Hosted mail: the application writes these maps and runs postmap + reload.
virtual_mailbox_domains = hash:{maps_dir}/domains
virtual_alias_maps = {alias_maps}
# Not optional: with virtual_mailbox_maps empty, smtpd accepts ANY address in a
# virtual_mailbox_domain and the mail bounces later (LMTP 550). Pointing it at
# the alias maps makes smtpd refuse, at RCPT, any address they do not list.
# (Nothing else reads it: delivery goes to LMTP, not to virtual(8).)
virtual_mailbox_maps = $virtual_alias_maps
virtual_transport = lmtp:inet:{host}:{lmtp_port}
smtpd_recipient_restrictions = check_recipient_access hash:{maps_dir}/private, permit_mynetworks, reject_unauth_destination

# Never send mail off this machine (mynetworks may relay anywhere).
default_transport = error:5.7.1 the testbed delivers no mail off this machine
relay_transport = error:5.7.1 the testbed delivers no mail off this machine
# A deferred mail (e.g. Dovecot restarting) is retried within seconds, not minutes.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""

# Signing by a milter (OpenDKIM): a message it cannot pass waits (tempfail), never leaves unsigned.
MILTER_CF = """\
smtpd_milters = {milter}
non_smtpd_milters = $smtpd_milters
milter_default_action = tempfail
"""

# Without /etc/postfix/main.cf (Debian's "No configuration"), a plain
# `postmap` or `postconf` dies: "open /etc/postfix/main.cf". The application
# runs plain `postmap`, so give it one. Nothing starts from this file.
SYSTEM_MAIN_CF = """\
# Written by Hostdeck's tests/testbed/postfix.py so that plain postmap/postconf
# work. No system Postfix runs from it; the tests start their own instances.
compatibility_level = 3.6
inet_interfaces = loopback-only
mydestination =
# Should anything start a system Postfix from it anyway: no port 25.
master_service_disable = inet
"""

POSTLOG = "postlog   unix-dgram n  -       n       -       1       postlogd"


def master_cf(system_text: str, host: str, port: int) -> str:
    """Debian's master.cf with smtpd on host:port, no chroot, and postlogd.

    chroot goes off for every service, not just smtpd: a chroot would be our
    queue_directory, which lacks the /etc files (resolv.conf, services...)
    Debian's init script copies into the system one.
    """
    out: list[str] = []
    for line in system_text.splitlines():
        fields = line.split()
        if line[:1] in ("", "#", " ", "\t") or len(fields) < 8:
            out.append(line)  # comments and "-o" continuation lines
            continue
        if fields[:2] == ["smtp", "inet"]:
            fields[0] = f"{host}:{port}"
        fields[4] = "n"
        out.append(" ".join(fields))
    if not any(line.split()[:2] == ["postlog", "unix-dgram"] for line in out if line.strip()):
        out.append(POSTLOG)
    return "\n".join(out) + "\n"


def ensure_system_main_cf() -> None:
    path = SYSTEM_DIR / "main.cf"
    if not path.exists():
        path.write_text(SYSTEM_MAIN_CF)
