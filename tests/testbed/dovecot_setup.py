"""Dovecot config template and system setup (vmail user, folder modes)."""

from __future__ import annotations

import grp
import pwd
import subprocess
from pathlib import Path

VMAIL_ID = 5000
LMTP_BINARY = Path("/usr/lib/dovecot/lmtp")  # package dovecot-lmtpd
SIEVE_PLUGIN = Path("/usr/lib/dovecot/modules/lib90_sieve_plugin.so")  # dovecot-sieve

CONFIG = """\
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log_path}
protocols = {protocols}
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# No auth cache: a rewritten passwd-file must count at once.
auth_cache_size = 0
auth_verbose = yes
# Tests fail logins on purpose: no 2 s delay per failure.
auth_failure_delay = 0
first_valid_uid = 500
mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins {mail_plugins}
postmaster_address = postmaster@example.com
{submission}passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u {passwd_file}
}}
# The userdb knows no scheme=: with it, the whole string is taken as a
# templated path ("Failed to normalize path") and every login fails.
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd_file}
}}
plugin {{
{plugin_settings}
}}
# Nor the per-IP penalty (anvil): after one failure from 127.0.0.1 the next
# login waited 4 s, growing to 15 s. Mode 0 disables the socket, so the
# penalty. (login_trusted_networks = 127.0.0.0/8 did not stop it here.)
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""

LMTP_SERVICE = """\
service lmtp {{
  inet_listener lmtp {{
    address = {host}
    port = {lmtp_port}
  }}
}}
"""

# Sieve runs at delivery; $mail_plugins keeps quota. Vacation replies go
# out over SMTP to submission_host (set once Postfix has a port).
SIEVE_LMTP = """\
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
"""
SIEVE_SETTINGS = "  sieve = file:~/sieve;active=~/.dovecot.sieve"


def ensure_vmail() -> tuple[int, int]:
    """Create the vmail user/group (5000) if missing; return (uid, gid)."""
    try:
        grp.getgrnam("vmail")
    except KeyError:
        subprocess.run(["groupadd", "-r", "-g", str(VMAIL_ID), "vmail"], check=True)
    try:
        pwd.getpwnam("vmail")
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "-r",
                "-u",
                str(VMAIL_ID),
                "-g",
                "vmail",
                "-d",
                "/nonexistent",
                "-s",
                "/usr/sbin/nologin",
                "vmail",
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )  # "uid > SYS_UID_MAX"
    return pwd.getpwnam("vmail").pw_uid, grp.getgrnam("vmail").gr_gid


def make_traversable(path: Path) -> None:
    """Add o+x to path and its parents (pytest tmp dirs are 0700)."""
    for d in [path, *path.parents]:
        mode = d.stat().st_mode
        if not mode & 0o001:
            d.chmod((mode & 0o7777) | 0o001)
