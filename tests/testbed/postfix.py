"""A throwaway Postfix on 127.0.0.1 that hands hosted mail to Dovecot over LMTP.

Its own config_dir, queue and maillog under root. The application manages
maps_dir (domains, aliases, private: sources + postmap'd .db) and reloads
with `postfix -c <config_dir> reload`; we only create them empty at start.

Found on Postfix 3.7 here:
- `postfix start` daemonizes master, whose parent becomes PID 1 (which may
  not reap it, see proc.py). `start-fg` runs the same startup checks and keeps
  master as our descendant, so we use it; `postfix stop` works the same.
- Errors go to the maillog (or a terminal), not to stderr: read log_text().
- data_directory must be owned by postfix (master's lock), and every parent
  of root must be searchable by postfix (pytest tmp dirs are 0700).
- An empty virtual_mailbox_maps accepts ANY address of a hosted domain
  (postfix_setup.py): unknown ones must be refused at RCPT, not bounced.
- `postfix reload` returns before the old daemons are gone: settle().
- Dovecot answers LMTP "550 User doesn't exist" (a bounce, not a retry) for a
  user its auth has not seen yet (dovecot.py trap (a)): wait_login() first.
- Plain `postmap` dies without /etc/postfix/main.cf (Debian's "No
  configuration"): we write a minimal one if it is missing.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import smtplib
import subprocess
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path

from .dovecot_setup import make_traversable
from .ports import HOST, free_port, wait_for_port, wait_for_port_closed
from .postfix_setup import MAIN_CF, MILTER_CF, SYSTEM_DIR, ensure_system_main_cf, master_cf
from .proc import alive, children, descendants, spawn, started_at, stop_tree, wait_gone
from .service import Service

# /usr/sbin may be missing from PATH in a bare CI environment.
POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTMAP = shutil.which("postmap") or "/usr/sbin/postmap"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"
MAPS = ("domains", "aliases", "private")


class Postfix(Service):
    """Postfix master (start-fg) as our descendant; config, queue and maps under root."""

    host: str = HOST

    def __init__(
        self,
        root: Path,
        lmtp_port: int,
        alias_maps: tuple[str, ...] = ("aliases",),
        maps_dir: Path | None = None,
        create_maps: bool = True,
        milter: str = "",
    ) -> None:
        self.root = Path(root)
        self.lmtp_port = lmtp_port
        # virtual_alias_maps, in order (the app may split mailboxes from aliases).
        self.alias_maps = alias_maps
        self.config_dir = self.root / "config"
        self.maps_dir = maps_dir or self.root / "maps"
        # False: as an operator's main.cf is, naming maps in a folder nothing has made yet.
        self.create_maps = create_maps
        # A milter every message passes (OpenDKIM's inet:host:port); empty: none.
        self.milter = milter
        self.queue_dir = self.root / "queue"
        self.data_dir = self.root / "data"
        self.log_path = self.root / "maillog"
        self.out_path = self.root / "postfix.out"  # postfix-script's own output
        self.smtp_port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    # -- setup -------------------------------------------------------------
    def _prepare(self) -> None:
        ensure_system_main_cf()
        postfix_user = pwd.getpwnam("postfix")
        made = [self.root, self.config_dir, self.queue_dir, self.data_dir]
        for d in [*made, self.maps_dir] if self.create_maps else made:
            d.mkdir(parents=True, exist_ok=True)
        make_traversable(self.root)
        for d in (self.root, self.maps_dir):
            if d.exists():
                d.chmod(0o755)
        os.chown(self.data_dir, postfix_user.pw_uid, postfix_user.pw_gid)

    def _create_maps(self) -> None:
        """Empty maps so Postfix starts cleanly; the app's survive stop()/start()."""
        for name in {*MAPS, *self.alias_maps}:
            source = self.maps_dir / name
            if not source.exists():
                source.touch(mode=0o644)
            if not source.with_suffix(".db").exists():
                self.postmap(name)

    def _write_config(self) -> None:
        alias_maps = ", ".join(f"hash:{self.maps_dir}/{m}" for m in self.alias_maps)
        (self.config_dir / "main.cf").write_text(
            MAIN_CF.format(
                queue_dir=self.queue_dir,
                data_dir=self.data_dir,
                host=self.host,
                log_path=self.log_path,
                root=self.root,
                maps_dir=self.maps_dir,
                alias_maps=alias_maps,
                lmtp_port=self.lmtp_port,
            )
            + (MILTER_CF.format(milter=self.milter) if self.milter else "")
        )
        system = (SYSTEM_DIR / "master.cf").read_text()
        (self.config_dir / "master.cf").write_text(master_cf(system, self.host, self.smtp_port))

    def _postfix(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), *args], capture_output=True, text=True, timeout=timeout
        )

    # -- lifecycle ---------------------------------------------------------
    def start(self, timeout: float = 15) -> None:
        if self.running:
            return
        if not self.smtp_port:  # keep the port across stop()/start()
            self.smtp_port = free_port()
        self._prepare()
        self._write_config()
        if self.create_maps:
            self._create_maps()  # postmap -c reads our main.cf
        self._proc = spawn(
            [POSTFIX, "-c", str(self.config_dir), "start-fg"],
            self.out_path,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if self._proc.poll() is not None:  # startup check failed
                    raise RuntimeError(f"exit {self._proc.returncode}")
                try:
                    wait_for_port(self.smtp_port, 0.2)
                    break
                except TimeoutError:
                    if time.monotonic() > deadline:
                        raise
        except Exception as err:
            self.stop()
            output = self.out_path.read_text(errors="replace")
            raise RuntimeError(f"postfix did not start:\n{output}\n{self.log_text()}") from err

    def _master_pid(self) -> int | None:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, timeout: float = 10) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        master = self._master_pid()
        children = descendants(proc.pid)  # master's children may outlive it
        self._postfix("stop", timeout=timeout + 10)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        stop_tree(proc, timeout, also=children)  # reap; kill stragglers
        if master is not None and alive(master):
            wait_gone([master], timeout)
        wait_for_port_closed(self.smtp_port)

    def reload(self, timeout: float = 10) -> None:
        """postfix reload, then settle(): only then do new SMTP sessions see the maps."""
        r = self._postfix("reload")
        if r.returncode != 0:
            raise RuntimeError(f"postfix reload failed: {r.stdout}{r.stderr}\n{self.log_text()}")
        self.settle(timeout)

    def settle(self, timeout: float = 10) -> None:
        """Wait until every Postfix daemon started after the last map/config change.

        `postfix reload` only sends SIGHUP and returns; the old daemons exit
        "at their earliest convenience". Until then an old smtpd may take the
        next connection and answer from the old maps (seen 1 in 30 right after
        reload). Call this after the application's own postmap + reload. A map
        changed WITHOUT a reload never settles: old daemons live on (idle 100 s).
        """
        master = self._master_pid()
        if master is None:
            raise RuntimeError("postfix is not running")
        files = [*self.maps_dir.glob("*.db"), self.config_dir / "main.cf", self.config_dir / "master.cf"]
        changed = max(f.stat().st_mtime for f in files if f.exists())
        deadline = time.monotonic() + timeout
        while True:
            stale = [p for p in children(master) if (started_at(p) or changed) < changed]
            if not stale:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"postfix daemons {stale} predate the last map change after {timeout}s: was postfix reloaded?"
                )
            time.sleep(0.05)

    # -- maps ----------------------------------------------------------------
    def postmap(self, map_name: str) -> None:
        """Compile maps_dir/<map_name> into its .db (what the application does)."""
        r = subprocess.run(
            [POSTMAP, "-c", str(self.config_dir), f"hash:{self.maps_dir / map_name}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if r.returncode != 0:
            raise RuntimeError(f"postmap {map_name} failed: {r.stderr}")

    def write_map(self, map_name: str, lines: list[str]) -> None:
        """Replace a map's source ("key value" lines) and postmap it; reload is yours."""
        source = self.maps_dir / map_name
        source.write_text("".join(line + "\n" for line in lines))
        source.chmod(0o644)
        self.postmap(map_name)

    def postmap_query(self, map_name: str, key: str) -> str | None:
        """postmap -q: the value for key, or None if the map has no such key."""
        r = subprocess.run(
            [POSTMAP, "-c", str(self.config_dir), "-q", key, f"hash:{self.maps_dir / map_name}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if r.returncode == 1:  # not found
            return None
        if r.returncode != 0:
            raise RuntimeError(f"postmap -q failed: {r.stderr}")
        return r.stdout.rstrip("\n")

    # -- mail ----------------------------------------------------------------
    def send(
        self, mail_from: str, rcpt_to: list[str], subject: str, body: str, headers: dict[str, str] | None = None
    ) -> str:
        """Submit one message over SMTP; return the server's reply to DATA ("queued as").

        Raises SMTPRecipientsRefused if ANY recipient is refused, and then sends
        nothing (smtplib's sendmail raises only when all are, and sends to the
        rest); SMTPSenderRefused / SMTPDataError (SMTPResponseException) else.
        """
        msg = EmailMessage()
        msg["From"] = mail_from
        msg["To"] = ", ".join(rcpt_to)
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain="testbed.localdomain")
        for name, value in (headers or {}).items():
            del msg[name]  # a given header replaces the default one
            msg[name] = value
        msg.set_content(body)
        with smtplib.SMTP(self.host, self.smtp_port, timeout=30) as smtp:
            smtp.ehlo()
            code, reply = smtp.mail(mail_from)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, mail_from)
            refused: dict[str, tuple[int, bytes]] = {}
            for rcpt in rcpt_to:
                code, reply = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = (code, reply)
            if refused:
                smtp.rset()
                raise smtplib.SMTPRecipientsRefused(refused)
            code, reply = smtp.data(msg.as_bytes(policy=SMTP))
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
            return reply.decode(errors="replace")
