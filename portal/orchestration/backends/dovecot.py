"""Dovecot mailboxes in a passwd-file: user:{SCHEME}hash:uid:gid::home::extra fields.

Fragments only note what they want (a line per change in a changes file, homes
in bash arrays); the commit phase rewrites the file in one awk pass, so a
script costs the same few processes for one mailbox or a hundred.

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
from typing import Any

from portal.models import Mailbox, Server
from portal.orchestration import verifiers
from portal.orchestration.backends.base import Backend
from portal.orchestration.script import Script, UnsafeValue, q

PREPARE = """\
hd_passwd={passwd}
if [ ! -d {passwd_dir} ]; then mkdir -p -m 0750 {passwd_dir}; {chgrp_dir}; fi
exec 9>>"$hd_passwd.lock"
flock -w 60 9 || {{ echo "passwd-file is locked by another change" >&2; exit 1; }}
hd_tmp=$(mktemp "$hd_passwd.XXXXXX")
hd_changes=$(mktemp "$hd_passwd.changes.XXXXXX")
hostdeck_cleanup+=("$hd_tmp" "$hd_tmp.next" "$hd_tmp.sieve" "$hd_changes" "$hd_changes.refused")
if [ -e "$hd_passwd" ]; then
  cat "$hd_passwd" > "$hd_tmp"
  chmod --reference="$hd_passwd" "$hd_tmp"
  chown --reference="$hd_passwd" "$hd_tmp"
else
  chmod 0640 "$hd_tmp"
  {chgrp}
fi
hd_lines=()
hd_new_homes=()
hd_old_homes=()
hd_sieve_homes=()
hd_sieve_texts=()
hd_plain_homes=()
"""

# Bash arrays and the printf builtin: the verifier reaches a file, never an argv.
SAVE = """\
hd_lines+=("S"$'\\t'{ref}$'\\t'{user}$'\\t'{verifier}$'\\t'{rest})
hd_new_homes+=({home})
{sieve}
"""
SIEVE_ON = "hd_sieve_homes+=({home}); hd_sieve_texts+=({text})"
SIEVE_OFF = "hd_plain_homes+=({home})"

DELETE = """\
hd_lines+=("D"$'\\t'{ref}$'\\t'{user})
hd_old_homes+=({home})
"""

# Changes apply in order. A save without a verifier keeps the hash already on the
# server; with no hash there, that one change is refused and the others go on.
# A delete of a user already gone means the server drifted: a warning.
MERGE = r"""
FNR == NR {
  if ($1 == "S") { want[$3] = $4; rest[$3] = $5; ref[$3] = $2; delete gone[$3]; order[++n] = $3 }
  else { gone[$3] = 1; delete want[$3] }
  next
}
($1 in want) { if (want[$1] == "") kept[$1] = $2; next }
($1 in gone) { found[$1] = 1; next }
{ print }
END {
  for (i = 1; i <= n; i++) {
    u = order[i]
    if (!(u in want) || (u in done)) continue
    done[u] = 1
    hash = want[u] != "" ? want[u] : kept[u]
    if (hash == "") {
      why = u " has no password on the server yet; set a new one"
      print "hostdeck-refused " ref[u] " " why > refused
      print why > "/dev/stderr"
      continue
    }
    print u ":" hash ":" rest[u]
  }
  for (u in gone) if (!(u in found)) print u " was already missing from the passwd-file" > "/dev/stderr"
}
"""

COMMIT = """\
printf '%s\\n' "${{hd_lines[@]}}" > "$hd_changes"
awk -F'\\t' -v refused="$hd_changes.refused" {merge} "$hd_changes" FS=: "$hd_tmp" > "$hd_tmp.next"
cat "$hd_tmp.next" > "$hd_tmp"
if [ -s "$hd_changes.refused" ]; then cat "$hd_changes.refused"; fi
if [ ${{#hd_new_homes[@]}} -gt 0 ]; then install -d -m 0700 -o {uid} -g {gid} "${{hd_new_homes[@]}}"; fi
# Vacation replies: the active Sieve script in each home (compiled by Dovecot itself).
for hd_i in "${{!hd_sieve_homes[@]}}"; do
  printf '%s\\n' "${{hd_sieve_texts[$hd_i]}}" > "$hd_tmp.sieve"
  install -m 0600 -o {uid} -g {gid} "$hd_tmp.sieve" "${{hd_sieve_homes[$hd_i]}}/.dovecot.sieve"
done
for hd_home in "${{hd_plain_homes[@]}}"; do
  if [ -e "$hd_home/.dovecot.sieve" ]; then rm -f -- "$hd_home/.dovecot.sieve" "$hd_home/.dovecot.svbin"; fi
done
if [ -e "$hd_passwd" ]; then
  hd_old=$(stat -c %Y "$hd_passwd"); hd_now=$(date +%s)
  touch -d "@$(( hd_now > hd_old ? hd_now : hd_old + 1 ))" "$hd_tmp"
fi
mv -f "$hd_tmp" "$hd_passwd"
# Only once the users are gone from the file, so nothing can log in and recreate a home.
if [ ${{#hd_old_homes[@]}} -gt 0 ]; then rm -rf -- "${{hd_old_homes[@]}}"; fi
"""


def sieve_string(value: str) -> str:
    """A Sieve quoted string: only backslash and double quote need escaping (RFC 5228)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def vacation_script(mailbox: Mailbox) -> str | None:
    """The mailbox's vacation reply as Sieve, or None when it has none."""
    if not getattr(mailbox, "autoreply_enabled", False):
        return None
    names = sorted({mailbox.address} | {a.key for a in mailbox.addresses if not a.catch_all})
    reply = (
        f"vacation :days 1 :addresses [{', '.join(sieve_string(n) for n in names)}]"
        f" :subject {sieve_string(mailbox.autoreply_subject or 'Automatic reply')}"
        f" {sieve_string(mailbox.autoreply_message)};"
    )
    when = []
    if mailbox.autoreply_start:
        when.append(f'currentdate :value "ge" "date" "{mailbox.autoreply_start.isoformat()}"')
    if mailbox.autoreply_end:
        when.append(f'currentdate :value "le" "date" "{mailbox.autoreply_end.isoformat()}"')
    body = f"if allof({', '.join(when)}) {{\n  {reply}\n}}" if when else reply
    return f'require ["vacation", "date", "relational"];\n{body}'


def _active(mailbox: Mailbox) -> bool:
    account = getattr(mailbox, "account", None)
    return account is None or account.active


def _field(value: object) -> str:
    text = str(value)
    if any(c in text for c in ":\t\n\r\x00"):
        raise UnsafeValue(f"{text!r} cannot be a passwd-file field")
    return text


def mail_home(server: Server, domain: str, local_part: str) -> str:
    """A mailbox's home on the server: <mail_root>/<domain>/<local part> (its mail in ~/Maildir)."""
    return posixpath.join(server.setting("mail_root", "/var/vmail"), _field(domain), _field(local_part))


class DovecotBackend(Backend[Mailbox]):
    name = "dovecot"
    handles = ("Mailbox",)

    def verifier(self, server: Server, plaintext: str) -> str:
        return verifiers.dovecot(server.setting("dovecot_scheme", "SHA512-CRYPT"), plaintext)

    def home(self, server: Server, mailbox: Mailbox) -> str:
        return mail_home(server, mailbox.domain.name, mailbox.local_part)

    def payload(self, mailbox: Mailbox, server: Server) -> dict[str, Any]:
        return {"user": mailbox.address, "home": self.home(server, mailbox)}

    def prepare(self, script: Script, server: Server) -> None:
        passwd = server.setting("dovecot_passwd_file", "/etc/dovecot/users")
        group = server.setting("dovecot_passwd_group", "dovecot")
        folder = q(posixpath.dirname(passwd))
        chgrp = f'chgrp {q(group)} "$hd_tmp"' if group else ":"
        chgrp_dir = f"chgrp {q(group)} {folder}" if group else ":"
        script.add(PREPARE.format(passwd=q(passwd), passwd_dir=folder, chgrp=chgrp, chgrp_dir=chgrp_dir))

    def save(self, script: Script, server: Server, mailbox: Mailbox, secret: str | None, ref: int = 0) -> None:
        uid, gid = server.setting("mail_uid", 5000), server.setting("mail_gid", 5000)
        home = self.home(server, mailbox)
        # uid:gid:gecos:home:shell:extra fields
        extra = f"userdb_quota_rule=*:storage={int(mailbox.quota_mb)}M"
        if not _active(mailbox):
            extra += " nologin=y"  # suspended: logins refused, delivery (userdb only) goes on
        rest = ":".join([_field(uid), _field(gid), "", home, "", extra])
        verifier = script.secret(_field(secret)) if secret is not None else "''"
        text = vacation_script(mailbox)
        sieve = SIEVE_ON.format(home=q(home), text=q(text)) if text else SIEVE_OFF.format(home=q(home))
        script.add(
            SAVE.format(
                ref=int(ref),
                user=q(_field(mailbox.address)),
                verifier=verifier,
                rest=q(rest),
                home=q(home),
                sieve=sieve,
            )
        )

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        root = server.setting("mail_root", "/var/vmail").rstrip("/") + "/"
        home = payload["home"]
        if not home.startswith(root) or ".." in home.split("/"):
            raise UnsafeValue(f"refusing to remove {home!r} outside {root!r}")
        script.add(DELETE.format(ref=int(ref), user=q(_field(payload["user"])), home=q(home)))

    def commit(self, script: Script, server: Server) -> None:
        uid, gid = server.setting("mail_uid", 5000), server.setting("mail_gid", 5000)
        script.add(COMMIT.format(merge=q(MERGE), uid=q(uid), gid=q(gid)))
