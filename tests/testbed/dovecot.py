"""A throwaway Dovecot (IMAP + LMTP) on 127.0.0.1 with a passwd-file.

Permissions (checked on Dovecot 2.3.19 here):
- The passwd-file is read by the `auth` process, which runs as the
  internal user `dovecot` (not root; only auth-worker runs as root, and
  passwd-file lookups do not use the worker). So the file must be readable
  by `dovecot` and every parent directory searchable by it: we keep it
  0640 root:dovecot in a 0750 root:dovecot folder. A rewrite by the
  application (temp file + rename) must give the new file those modes too:
  a 0600 root:root file makes every login fail (auth: "Permission denied").
- A fixed passwd-file path is opened when auth starts, so we create it
  empty; lookups re-stat it, so a rewrite needs no reload. Dovecot only
  re-reads when mtime (whole seconds) or size changed.
- Mail processes run as the uid/gid of the passwd-file line (vmail,
  5000), so mail_root is vmail-owned and all its parents need o+x.
"""
from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from .ports import HOST, free_port, wait_for_port, wait_for_port_closed
from .proc import alive, stop_tree

VMAIL_ID = 5000


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
            ["useradd", "-r", "-u", str(VMAIL_ID), "-g", "vmail",
             "-d", "/nonexistent", "-s", "/usr/sbin/nologin", "vmail"],
            check=True,
        )
    return pwd.getpwnam("vmail").pw_uid, grp.getgrnam("vmail").gr_gid


def make_traversable(path: Path) -> None:
    """Add o+x to path and its parents (pytest tmp dirs are 0700)."""
    for d in [path, *path.parents]:
        mode = d.stat().st_mode
        if not mode & 0o001:
            d.chmod((mode & 0o7777) | 0o001)


class Dovecot:
    """Dovecot master in the foreground (-F) as our child, files under root."""

    host: str = HOST

    def __init__(self, root: Path, quota: bool = True) -> None:
        self.root = Path(root)
        self.quota = quota  # load the quota plugin so quota_rule is honoured
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

    # -- setup -------------------------------------------------------------
    def _prepare(self) -> None:
        self.vmail_uid, self.vmail_gid = ensure_vmail()
        dovecot_gid = grp.getgrnam("dovecot").gr_gid
        for d in (self.root, self.state_dir, self.base_dir):
            d.mkdir(parents=True, exist_ok=True)
        make_traversable(self.root)
        self.auth_dir.mkdir(exist_ok=True)
        os.chown(self.auth_dir, 0, dovecot_gid)
        self.auth_dir.chmod(0o750)
        if not self.passwd_file.exists():
            self.passwd_file.touch()
        os.chown(self.passwd_file, 0, dovecot_gid)
        self.passwd_file.chmod(0o640)
        self.mail_root.mkdir(exist_ok=True)
        os.chown(self.mail_root, self.vmail_uid, self.vmail_gid)
        self.mail_root.chmod(0o750)

    def _write_config(self) -> None:
        args = f"scheme=SHA512-CRYPT username_format=%u {self.passwd_file}"
        # The userdb knows no scheme= and would read the whole string as a
        # (templated) path: "Failed to normalize path", every login fails.
        userdb_args = f"username_format=%u {self.passwd_file}"
        plugins = "$mail_plugins quota" if self.quota else "$mail_plugins"
        quota_plugin = "  quota = maildir:User quota\n" if self.quota else ""
        self.config_path.write_text(
            f"base_dir = {self.base_dir}\n"
            f"state_dir = {self.state_dir}\n"
            f"log_path = {self.log_path}\n"
            "protocols = imap lmtp\n"
            f"listen = {self.host}\n"
            "ssl = no\n"
            "disable_plaintext_auth = no\n"
            "auth_mechanisms = plain login\n"
            # No auth cache: a rewritten passwd-file must count at once.
            "auth_cache_size = 0\n"
            "auth_verbose = yes\n"
            # Tests log in with wrong passwords on purpose: no 2 s delay per
            # failure, and no growing per-IP penalty (up to 15 s) for loopback.
            "auth_failure_delay = 0\n"
            f"login_trusted_networks = 127.0.0.0/8\n"
            "first_valid_uid = 500\n"
            "mail_location = maildir:~/Maildir\n"
            f"mail_plugins = {plugins}\n"
            "postmaster_address = postmaster@example.com\n"
            f"passdb {{\n  driver = passwd-file\n  args = {args}\n}}\n"
            f"userdb {{\n  driver = passwd-file\n  args = {userdb_args}\n}}\n"
            f"plugin {{\n{quota_plugin}}}\n"
            "service imap-login {\n"
            f"  inet_listener imap {{\n    address = {self.host}\n"
            f"    port = {self.imap_port}\n  }}\n"
            "  inet_listener imaps {\n    port = 0\n  }\n}\n"
            "service lmtp {\n"
            f"  inet_listener lmtp {{\n    address = {self.host}\n"
            f"    port = {self.lmtp_port}\n  }}\n}}\n"
        )

    # -- lifecycle ---------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and alive(self._proc.pid)

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        self._prepare()
        if not self.imap_port:
            self.imap_port, self.lmtp_port = free_port(), free_port()
        self._write_config()
        # -F keeps the master as our child so we reap it (see proc.py).
        self._proc = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            wait_for_port(self.imap_port, timeout)
            wait_for_port(self.lmtp_port, timeout)
        except Exception:
            self.stop()
            raise RuntimeError(f"dovecot did not start:\n{self.log_text()}")

    def stop(self, timeout: float = 10) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        subprocess.run(["doveadm", "-c", str(self.config_path), "stop"],
                       capture_output=True, timeout=timeout)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        stop_tree(proc)  # no-op if already gone; catches stragglers
        wait_for_port_closed(self.imap_port)

    def cleanup(self) -> None:
        """Remove a base_dir we had to put outside root."""
        if not self.base_dir.is_relative_to(self.root):
            shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- checks ------------------------------------------------------------
    def imap_login(self, user: str, password: str) -> bool:
        """IMAP LOGIN: True if accepted, False if refused; raise otherwise."""
        imap = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        try:
            imap.login(user, password)
            return True
        except imaplib.IMAP4.error as e:
            if "AUTHENTICATIONFAILED" in str(e):
                return False
            raise  # e.g. [UNAVAILABLE]: unreadable passwd-file, bad userdb
        finally:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                imap.shutdown()

    def auth_test(self, user: str, password: str) -> bool:
        """doveadm auth test: exit 0 good, 77 refused, anything else raises."""
        r = subprocess.run(
            ["doveadm", "-c", str(self.config_path), "auth", "test", user, password],
            capture_output=True, text=True, timeout=30,
        )
        if r.returncode in (0, 77):
            return r.returncode == 0
        raise RuntimeError(f"doveadm auth test failed ({r.returncode}): {r.stderr}")

    def doveadm(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run any doveadm command against this instance (e.g. quota get -u)."""
        return subprocess.run(["doveadm", "-c", str(self.config_path), *args],
                              capture_output=True, text=True, timeout=30)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> "Dovecot":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
