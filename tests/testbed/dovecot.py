"""A throwaway Dovecot (IMAP + LMTP) on 127.0.0.1 with a passwd-file.

Found on Dovecot 2.3.19 here:
- The passwd-file is read by the `auth` process, which runs as the internal
  user `dovecot` (only auth-worker runs as root, and passwd-file does not use
  it). So the file must be readable by `dovecot` and its folders searchable:
  we keep it 0640 root:dovecot in a 0750 root:dovecot folder. The app's
  rewrite (temp + rename) must give the new file such modes too: a 0600
  root:root file makes every login fail with [UNAVAILABLE] ("Permission
  denied" in the log); 0644 root:root works.
- A missing passwd-file is tolerated (errors in the log, logins refused);
  we create it empty so the log stays clean.
- No reload is needed after a rewrite, with two traps (db-passwd-file.c):
  (a) auth stats the file at most once per second, so a write can stay
      unseen for up to ~1 s: use wait_login() rather than one imap_login();
  (b) it re-reads only if mtime (whole seconds) or size changed. A password
      change gives a same-size line (SHA512-CRYPT hashes have fixed length),
      so a rewrite in the same second as the last load is never seen.
- Unknown extra fields (userdb_foo=1, foo=1) are ignored; with the quota
  plugin loaded, userdb_quota_rule=*:storage=100M sets a 100M limit.
- The userdb must not get `scheme=` in its args (see dovecot_setup.py).
- Failed logins are slowed down twice (auth_failure_delay, anvil penalty);
  both are off here, a failure still takes ~0.5 s (auth's batch timer).
- Mail processes run as the uid/gid of the passwd-file line (vmail, 5000);
  Dovecot creates <mail_root>/<domain>/<local> itself (0700 vmail).
- LMTP looks recipients up in the same passwd-file (userdb); sieve runs at
  delivery (dovecot-sieve) and sends vacation replies over SMTP to
  submission_host. Set it with set_submission_host() once Postfix has its
  port: that rewrites the config and reloads (new processes read it).
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import shutil
import subprocess
import tempfile
import time
from email.message import Message
from pathlib import Path

from . import imap as imap_client
from .dovecot_setup import (
    CONFIG,
    LMTP_BINARY,
    LMTP_SERVICE,
    SIEVE_LMTP,
    SIEVE_PLUGIN,
    SIEVE_SETTINGS,
    VMAIL_ID,
    ensure_vmail,
    make_traversable,
)
from .ports import HOST, free_port, wait_for_port, wait_for_port_closed
from .proc import descendants, stop_tree
from .service import Service

# /usr/sbin may be missing from PATH in a bare CI environment.
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"


class Dovecot(Service):
    """Dovecot master in the foreground (-F) as our child, files under root."""

    host: str = HOST

    def __init__(
        self,
        root: Path,
        quota: bool = True,
        lmtp: bool | None = None,
        sieve: bool | None = None,
        submission_host: str | None = None,
    ) -> None:
        self.root = Path(root)
        self.quota = quota  # load the quota plugin so quota_rule is honoured
        # By default LMTP only where dovecot-lmtpd is installed (else port 0),
        # and sieve on delivery only where dovecot-sieve is.
        self.lmtp = LMTP_BINARY.exists() if lmtp is None else lmtp
        self.sieve = self.lmtp and (SIEVE_PLUGIN.exists() if sieve is None else sieve)
        self.submission_host = submission_host  # "127.0.0.1:<postfix port>"
        self.config_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self.state_dir = self.root / "state"
        self.auth_dir = self.root / "auth"
        self.passwd_file = self.auth_dir / "users"
        self.mail_root = self.root / "mail"
        # Unix socket paths are limited to 107 bytes; keep base_dir short.
        self.base_dir = self.root / "run"
        if len(str(self.base_dir)) > 60:
            self.base_dir = Path(tempfile.mkdtemp(prefix="dovecot-run-"))
        self.imap_port = 0
        self.lmtp_port = 0
        self.vmail_uid = self.vmail_gid = VMAIL_ID
        self._proc: subprocess.Popen[bytes] | None = None

    def _prepare(self) -> None:
        self.vmail_uid, self.vmail_gid = ensure_vmail()
        dovecot_gid = grp.getgrnam("dovecot").gr_gid
        for d in (self.root, self.state_dir, self.base_dir, self.auth_dir, self.mail_root):
            d.mkdir(parents=True, exist_ok=True)
        make_traversable(self.root)
        os.chown(self.auth_dir, 0, dovecot_gid)
        self.auth_dir.chmod(0o750)
        self.passwd_file.touch(exist_ok=True)
        os.chown(self.passwd_file, 0, dovecot_gid)
        self.passwd_file.chmod(0o640)
        os.chown(self.mail_root, self.vmail_uid, self.vmail_gid)
        self.mail_root.chmod(0o750)

    def _write_config(self) -> None:
        protocols = "imap lmtp" if self.lmtp else "imap"
        template = CONFIG + (LMTP_SERVICE if self.lmtp else "")
        plugin = (["  quota = maildir:User quota"] if self.quota else []) + ([SIEVE_SETTINGS] if self.sieve else [])
        submission = f"submission_host = {self.submission_host}\n" if self.submission_host else ""
        text = template.format(
            base_dir=self.base_dir,
            state_dir=self.state_dir,
            log_path=self.log_path,
            protocols=protocols,
            host=self.host,
            passwd_file=self.passwd_file,
            mail_plugins="quota" if self.quota else "",
            submission=submission,
            plugin_settings="\n".join(plugin),
            imap_port=self.imap_port,
            lmtp_port=self.lmtp_port,
        )
        self.config_path.write_text(text + (SIEVE_LMTP if self.sieve else ""))

    def set_submission_host(self, host_port: str) -> None:
        """Where sieve sends vacation replies (SMTP); reload if running."""
        self.submission_host = host_port
        if self.running:
            self._write_config()
            self.reload()

    def reload(self, timeout: float = 10) -> None:
        """doveadm reload, and wait until the master has re-read its config.

        The signal is asynchronous: doveadm returns before the master acts,
        so wait for its "reloading configuration" log line.
        """
        before = self.log_text().count("reloading configuration")
        r = self.doveadm("reload")
        if r.returncode != 0:
            raise RuntimeError(f"doveadm reload failed: {r.stderr}")
        deadline = time.monotonic() + timeout
        while self.log_text().count("reloading configuration") <= before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"dovecot did not reload:\n{self.log_text()}")
            time.sleep(0.05)

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        self._prepare()
        if not self.imap_port:  # keep ports across stop()/start()
            self.imap_port = free_port()
            self.lmtp_port = free_port() if self.lmtp else 0
        self._write_config()
        # -F keeps the master as our child so we reap it (see proc.py).
        self._proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config_path)], stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            for port in (self.imap_port, self.lmtp_port):
                if port:
                    wait_for_port(port, timeout)
        except Exception as err:
            self.stop()
            raise RuntimeError(f"dovecot did not start:\n{self.log_text()}") from err

    def stop(self, timeout: float = 10) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        children = descendants(proc.pid)  # master may exit before them
        # doveadm stop polls until the master pid is gone; a zombie still
        # counts, so reap the master while doveadm waits (else it waits 3 s).
        doveadm = subprocess.Popen(
            [DOVEADM, "-c", str(self.config_path), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        doveadm.wait(timeout=timeout)
        stop_tree(proc, timeout, also=children)  # reap; kill stragglers
        wait_for_port_closed(self.imap_port)

    def cleanup(self) -> None:
        """Remove a base_dir we had to put outside root."""
        if not self.base_dir.is_relative_to(self.root):
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def imap_login(self, user: str, password: str) -> bool:
        """IMAP LOGIN: True if accepted, False if refused; raise otherwise.

        LOGIN's strings are ASCII only, so a non-ASCII password goes through
        AUTHENTICATE PLAIN, which carries UTF-8.
        """
        imap = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        try:
            imap_client.login(imap, user, password)
            return True
        except imaplib.IMAP4.error as e:
            # A disabled login (nologin, e.g. a suspended account) is refused too.
            if "AUTHENTICATIONFAILED" in str(e) or "CONTACTADMIN" in str(e):
                return False
            raise  # e.g. [UNAVAILABLE]: unreadable passwd-file, bad userdb line
        finally:
            imap_client.close(imap)

    def imap_fetch_all(self, user: str, password: str, folder: str = "INBOX") -> list[Message]:
        """Every message in folder (read-only EXAMINE + FETCH RFC822), oldest first."""
        return imap_client.fetch_all(self.host, self.imap_port, user, password, folder)

    def wait_for_messages(
        self, user: str, password: str, count: int, timeout: float = 10, folder: str = "INBOX"
    ) -> list[Message]:
        """Poll until folder has at least count messages; TimeoutError otherwise."""
        return imap_client.wait_for_messages(self.host, self.imap_port, user, password, count, timeout, folder)

    def wait_login(self, user: str, password: str, expect: bool = True, timeout: float = 10.0) -> bool:
        """Poll imap_login until it returns expect (trap (a)); last result.

        Within trap (a)'s second a deleted user may still pass auth from the old passwd-file and then
        find no home ([UNAVAILABLE] Internal error): that is polled again too, and raised only at the end."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                ok: bool | None = self.imap_login(user, password)
            except imaplib.IMAP4.error:
                if time.monotonic() > deadline:
                    raise
                ok = None
            if ok == expect or (ok is not None and time.monotonic() > deadline):
                return bool(ok)
            time.sleep(0.2)

    def doveadm(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run doveadm against this instance (e.g. "quota", "get", "-u", user)."""
        return subprocess.run([DOVEADM, "-c", str(self.config_path), *args], capture_output=True, text=True, timeout=30)
