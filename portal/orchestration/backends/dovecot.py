"""Dovecot mailboxes in a passwd-file: user:{SCHEME}hash:uid:gid::home::extra fields.

The file is rewritten whole under flock into a temp file beside it, then
renamed, so Dovecot never reads half a file and concurrent scripts never lose
each other's lines. Dovecot rereads the file on change, so no reload is needed;
but it looks only at the mtime (in whole seconds) and the size, so a new file
of the same size gets an mtime at least one second past the old one.
The dovecot auth process reads the file as the `dovecot` user: a new file is
0640 root:<dovecot_passwd_group>; an existing one keeps its owner and mode.
"""
from __future__ import annotations

import posixpath

from portal.models import Mailbox, Server
from portal.orchestration import verifiers
from portal.orchestration.backends.base import Backend
from portal.orchestration.script import Script, UnsafeValue, q

PREPARE = """\
hd_passwd={passwd}
mkdir -p {passwd_dir}
exec 9>>"$hd_passwd.lock"
flock -w 60 9 || {{ echo "passwd-file is locked by another change" >&2; exit 1; }}
hd_tmp=$(mktemp "$hd_passwd.XXXXXX")
trap 'rm -f "$hd_tmp" "$hd_tmp.next"' EXIT
if [ -e "$hd_passwd" ]; then
  cat "$hd_passwd" > "$hd_tmp"
  chmod --reference="$hd_passwd" "$hd_tmp"
  chown --reference="$hd_passwd" "$hd_tmp" 2>/dev/null || true
else
  chmod 0640 "$hd_tmp"
  {chgrp}
fi
hd_passwd_drop() {{
  awk -F: -v u="$1" '$1 != u' "$hd_tmp" > "$hd_tmp.next"
  cat "$hd_tmp.next" > "$hd_tmp"
}}
hd_passwd_hash() {{
  awk -F: -v u="$1" '$1 == u {{ print $2; exit }}' "$hd_tmp"
}}
"""

SAVE_WITH_SECRET = """\
hd_passwd_drop {user}
printf '%s:%s:%s\\n' {user} {verifier} {rest} >> "$hd_tmp"
install -d -m 0700 -o {uid} -g {gid} {home}
"""

# No new password: keep the hash already on the server.
SAVE_KEEP_HASH = """\
hd_hash=$(hd_passwd_hash {user})
if [ -z "$hd_hash" ]; then echo {missing} >&2; exit 1; fi
hd_passwd_drop {user}
printf '%s:%s:%s\\n' {user} "$hd_hash" {rest} >> "$hd_tmp"
install -d -m 0700 -o {uid} -g {gid} {home}
"""

# A user already gone means the server drifted from the portal: say so (WARNING), carry on.
DELETE = """\
if [ -z "$(hd_passwd_hash {user})" ]; then echo {drift} >&2; fi
hd_passwd_drop {user}
rm -rf -- {home}
"""

COMMIT = """\
if [ -e "$hd_passwd" ]; then
  hd_old=$(stat -c %Y "$hd_passwd"); hd_now=$(date +%s)
  touch -d "@$(( hd_now > hd_old ? hd_now : hd_old + 1 ))" "$hd_tmp"
fi
mv -f "$hd_tmp" "$hd_passwd"
"""


def _field(value: object) -> str:
    text = str(value)
    if any(c in text for c in ":\n\r\x00"):
        raise UnsafeValue(f"{text!r} cannot be a passwd-file field")
    return text


class DovecotBackend(Backend):
    name = "dovecot"
    handles = ("Mailbox",)

    def verifier(self, server: Server, plaintext: str) -> str:
        return verifiers.dovecot(server.setting("dovecot_scheme", "SHA512-CRYPT"), plaintext)

    def home(self, server: Server, mailbox: Mailbox) -> str:
        root = server.setting("mail_root", "/var/vmail")
        return posixpath.join(root, _field(mailbox.domain.name), _field(mailbox.local_part))

    def payload(self, mailbox: Mailbox, server: Server) -> dict:
        return {"user": mailbox.address, "home": self.home(server, mailbox)}

    def prepare(self, script: Script, server: Server) -> None:
        passwd = server.setting("dovecot_passwd_file", "/etc/dovecot/users")
        group = server.setting("dovecot_passwd_group", "dovecot")
        chgrp = f'chgrp {q(group)} "$hd_tmp"' if group else ":"
        script.add(PREPARE.format(passwd=q(passwd), passwd_dir=q(posixpath.dirname(passwd)), chgrp=chgrp))

    def save(self, script: Script, server: Server, mailbox: Mailbox, secret: str | None) -> None:
        uid, gid = server.setting("mail_uid", 5000), server.setting("mail_gid", 5000)
        home = self.home(server, mailbox)
        # uid:gid:gecos:home:shell:extra fields
        rest = ":".join([_field(uid), _field(gid), "", home, "", f"userdb_quota_rule=*:storage={int(mailbox.quota_mb)}M"])
        values = {"user": q(_field(mailbox.address)), "rest": q(rest), "uid": q(uid), "gid": q(gid), "home": q(home)}
        if secret is not None:
            script.add(SAVE_WITH_SECRET.format(verifier=script.secret(_field(secret)), **values))
        else:
            missing = q(f"{mailbox.address} has no password on the server yet")
            script.add(SAVE_KEEP_HASH.format(missing=missing, **values))

    def delete(self, script: Script, server: Server, payload: dict) -> None:
        root = server.setting("mail_root", "/var/vmail").rstrip("/") + "/"
        home = payload["home"]
        if not home.startswith(root) or ".." in home.split("/"):
            raise UnsafeValue(f"refusing to remove {home!r} outside {root!r}")
        user = _field(payload["user"])
        drift = q(f"{user} was already missing from the passwd-file")
        script.add(DELETE.format(user=q(user), home=q(home), drift=drift))

    def commit(self, script: Script, server: Server) -> None:
        script.add(COMMIT)
