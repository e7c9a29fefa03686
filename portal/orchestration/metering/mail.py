"""Mailboxes: each one's bytes and messages, from the maildirs under mail_root.

One `find` over mail_root and one awk pass, however many mailboxes: a message is a file in cur/ or
new/ of a home's Maildir or of one of its .Folder subfolders. find ends each name with a NUL and tr
turns any newline inside a name into "?", so a folder named with a newline or a tab cannot start a
line of its own; awk splits on "/", which no name holds, and counts a file only toward the home
whose path it lies in, and prints only the mailboxes the portal listed (0 for one with no maildir
yet).
"""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Domain, Mailbox, Server
from portal.models.metering import Metric
from portal.orchestration.backends.dovecot import mail_home
from portal.orchestration.metering.base import PREFIX, Collector, Target
from portal.orchestration.metering.held import held
from portal.orchestration.placement import accounts_here
from portal.orchestration.script import Script, UnsafeValue, q

# -H: mail_root itself may be a link (the operator's), nothing below it is followed.
# -mindepth 5: <domain>/<local>/Maildir/{cur,new}/<file>; 6: .../Maildir/.<folder>/{cur,new}/<file>
FRAGMENT = """\
hu_mail=$(mktemp); hostdeck_cleanup+=("$hu_mail")
printf '%s/%s\\n' {listed} > "$hu_mail"
if [ -d {root} ]; then
  {{ find -H {root} -ignore_readdir_race -mindepth 5 -maxdepth 6 -type f -path '*/Maildir/*' \\
      \\( -path '*/cur/*' -o -path '*/new/*' \\) -printf '%s/%P\\0' || true; }}
fi | tr '\\n\\0' '?\\n' | awk -F/ -v prefix={prefix} {program} "$hu_mail" -
"""
PROGRAM = r"""
FNR == NR { home[$2 "/" $3] = $1; order[++n] = $1; next }
$4 != "Maildir" { next }
(NF == 6 && ($5 == "cur" || $5 == "new")) || (NF == 7 && $5 ~ /^\./ && ($6 == "cur" || $6 == "new")) {
  key = $2 "/" $3
  if (key in home) { bytes[home[key]] += $1; messages[home[key]]++ }
}
END {
  for (i = 1; i <= n; i++) {
    id = order[i]
    printf "%s\tmail\tMailbox\t%s\tmail_bytes\t%.0f\n", prefix, id, bytes[id] + 0
    printf "%s\tmail\tMailbox\t%s\tmail_messages\t%.0f\n", prefix, id, messages[id] + 0
  }
}
"""


def _relative(server: Server, domain: str, local_part: str) -> str | None:
    """<domain>/<local part>: the home below mail_root, as find prints it; None for a name that
    cannot be a home there (the Dovecot backend refuses it too)."""
    try:
        mail_home(server, domain, local_part)
    except UnsafeValue:
        return None
    if any(part in ("", ".", "..") or "/" in part or not part.isprintable() for part in (domain, local_part)):
        return None
    return f"{domain}/{local_part}"


class MailCollector(Collector):
    name = "mail"
    backend = "dovecot"
    metrics = frozenset({Metric.MAIL_BYTES, Metric.MAIL_MESSAGES})
    object_types = ("Mailbox",)

    def targets(self, server: Server) -> list[Target]:
        query = (
            sa.select(Mailbox.id, Mailbox.account_id, Domain.name, Mailbox.local_part)
            .join(Mailbox.domain)
            .where(*held(Mailbox, accounts_here(server.id)))
        )
        found = []
        for object_id, account_id, domain, local_part in db.session.execute(query):
            key = _relative(server, domain, local_part)
            if key is not None:
                found.append(Target("Mailbox", object_id, account_id, key))
        return found

    def measure(self, script: Script, server: Server, targets: list[Target]) -> None:
        if not targets:
            return
        root = server.setting("mail_root", "/var/vmail")
        script.add(
            FRAGMENT.format(
                listed=" ".join(f"{q(t.object_id)} {q(t.key)}" for t in targets),
                root=q(root),
                prefix=q(PREFIX),
                program=q(PROGRAM),
            )
        )


MAIL = MailCollector()
