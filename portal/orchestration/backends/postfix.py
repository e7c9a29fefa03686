"""Postfix: virtual domains and aliases in hash: maps, compiled with postmap, one reload per script.

Maps (in the server setting `postfix_maps_dir`), as main.cf names them:
  virtual_mailbox_domains = hash:<dir>/domains          example.org OK
  virtual_alias_maps = hash:<dir>/aliases, hash:<dir>/mailboxes
      aliases:   every address -> its mailboxes and forwards (@domain for a catch-all)
      mailboxes: every mailbox -> itself, so alias expansion ends there (a catch-all
                 never swallows mail meant for a mailbox)
  smtpd_recipient_restrictions = check_recipient_access hash:<dir>/private, ...
      private:   a mailbox with no address of its own name -> REJECT, so only its
                 addresses reach it from outside

Fragments only note changes; the commit merges each changed map in one awk pass,
compiles it beside the original, and renames the compiled map into place. A map that is not there
yet is made (empty, and compiled) by the first script, whatever it changes: main.cf names all four,
and Postfix answers "temporary lookup failure" for every address while one is missing.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Address, Domain, Mailbox, Server, Status
from portal.models.validators import domain_to_ascii
from portal.orchestration.backends.base import Backend
from portal.orchestration.backends.staged import SAID, said
from portal.orchestration.script import Script, UnsafeValue, q

PRIVATE = "REJECT 5.1.1 no such address"
MAPS = ("domains", "aliases", "mailboxes", "private")
# What `postfix reload` says when all is well (staged.said); over SSH it says nothing at all.
NOTICES = r"refreshing the Postfix mail system"

PREPARE = """\
hp_dir={maps_dir}
mkdir -p "$hp_dir"
exec 8>>"$hp_dir/.hostdeck.lock"
flock -w 60 8 || {{ echo "the Postfix maps are locked by another change" >&2; exit 1; }}
declare -A hp_changes=()
hp_set() {{ hp_changes[$1]+="S"$'\\t'"$2"$'\\t'"$3"$'\\n'; }}
hp_del() {{ hp_changes[$1]+="D"$'\\t'"$2"$'\\n'; }}
"""

# Changes first (tab-separated), then the map (whitespace-separated): later changes to a
# key win, untouched lines stay.
MERGE = r"""
FNR == NR { if ($1 == "S") { want[$2] = $3; delete gone[$2] } else { delete want[$2]; gone[$2] = 1 } next }
($1 in want) || ($1 in gone) { next }
{ print }
END { for (k in want) print k " " want[k] }
"""

COMMIT = """\
hp_compiled=0
for hp_map in {maps}; do
  hp_src="$hp_dir/$hp_map"
  if [ ! -e "$hp_src" ]; then : > "$hp_src"; chmod 0644 "$hp_src"; fi
  if [ -n {postmap} ] && [ ! -e "$hp_src.db" ] && [ -z "${{hp_changes[$hp_map]+x}}" ]; then
    {postmap} {postmap_options}"hash:$hp_src"
    chmod 0644 "$hp_src.db"
    hp_compiled=1
  fi
done
for hp_map in "${{!hp_changes[@]}}"; do
  hp_src="$hp_dir/$hp_map"
  hp_tmp=$(mktemp "$hp_src.XXXXXX")
  hostdeck_cleanup+=("$hp_tmp" "$hp_tmp.db")
  hp_old=/dev/null
  if [ -e "$hp_src" ]; then hp_old=$hp_src; fi
  printf '%s' "${{hp_changes[$hp_map]}}" | awk -F'\\t' {merge} - FS=' ' "$hp_old" | LC_ALL=C sort > "$hp_tmp"
  chmod 0644 "$hp_tmp"
  if [ -n {postmap} ]; then
    {postmap} {postmap_options}"hash:$hp_tmp"
    chmod 0644 "$hp_tmp.db"
    mv -f "$hp_tmp.db" "$hp_src.db"
    hp_compiled=1
  fi
  mv -f "$hp_tmp" "$hp_src"
done
if [ "$hp_compiled" = 1 ]; then
{reload}
fi
"""


def _key(value: str) -> str:
    if not value or "," in value or any(c.isspace() or ord(c) < 32 for c in value):
        raise UnsafeValue(f"{value!r} cannot be a Postfix map key")
    return value


def _destination(address: str) -> str:
    """As Postfix matches it, the domain in A-labels: forwards saved before the service stored them so
    may still name a Unicode domain."""
    if address.isascii():
        return address
    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{domain_to_ascii(domain)}"
    except ValueError as exc:
        raise UnsafeValue(f"{address!r} cannot be a Postfix destination: {exc}") from exc


def _live(model: type[Mailbox] | type[Address], key: str) -> bool:
    """Is there a mailbox (or address) of this name that is not being deleted? (One query each.)"""
    local, _, domain = key.partition("@")
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(model)
        .join(model.domain)
        .where(model.local_part == local, Domain.name == domain, model.status != Status.DELETING)
    )
    return bool(count)


# Per script and domain: the local parts of its addresses not being deleted. Read once for all the
# script's mailboxes of a domain, not once each (a resync's job has hundreds); kept with the script.
_LIVE_NAMES: WeakKeyDictionary[Script, dict[int, set[str]]] = WeakKeyDictionary()


def _has_address(script: Script, mailbox: Mailbox) -> bool:
    """Is there an address of the mailbox's own name, not being deleted?"""
    names = _LIVE_NAMES.setdefault(script, {})
    if mailbox.domain_id not in names:
        names[mailbox.domain_id] = set(
            db.session.scalars(
                sa.select(Address.local_part).where(
                    Address.domain_id == mailbox.domain_id, Address.status != Status.DELETING
                )
            )
        )
    return mailbox.local_part in names[mailbox.domain_id]


class PostfixBackend(Backend[Domain | Address | Mailbox]):
    name = "postfix"
    handles = ("Domain", "Address", "Mailbox")

    def payload(self, obj: Domain | Address | Mailbox, server: Server) -> dict[str, Any]:
        if isinstance(obj, Domain):
            return {"kind": "domain", "key": obj.name}
        if isinstance(obj, Address):
            return {"kind": "address", "key": obj.key}
        return {"kind": "mailbox", "key": obj.address}

    def prepare(self, script: Script, server: Server) -> None:
        script.add(SAID)
        script.add(PREPARE.format(maps_dir=q(server.setting("postfix_maps_dir", "/etc/postfix/hostdeck"))))

    def _set(self, script: Script, table: str, key: str, value: str) -> None:
        if any(c in value for c in "\n\r\t\x00"):
            raise UnsafeValue(f"{value!r} cannot be a Postfix map value")
        script.add(f"hp_set {table} {q(_key(key))} {q(value)}")

    def _del(self, script: Script, table: str, key: str) -> None:
        script.add(f"hp_del {table} {q(_key(key))}")

    def save(
        self, script: Script, server: Server, obj: Domain | Address | Mailbox, secret: str | None, ref: int = 0
    ) -> None:
        if isinstance(obj, Domain):
            self._set(script, "domains", obj.name, "OK")
        elif isinstance(obj, Address):
            self._set(script, "aliases", obj.key, ", ".join(_destination(d) for d in obj.destinations))
            self._del(script, "private", obj.key)  # a mailbox of this name is reachable now
        elif _has_address(script, obj):
            self._set(script, "mailboxes", obj.address, obj.address)
            self._del(script, "private", obj.address)
        else:
            self._set(script, "mailboxes", obj.address, obj.address)
            self._set(script, "private", obj.address, PRIVATE)

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        kind, key = payload["kind"], payload["key"]
        if kind == "domain":
            self._del(script, "domains", key)
        elif kind == "mailbox":
            self._del(script, "mailboxes", key)
            self._del(script, "private", key)
        else:
            self._del(script, "aliases", key)
            if _live(Mailbox, key):
                self._set(script, "private", key, PRIVATE)  # its mailbox is left without a public name

    def commit(self, script: Script, server: Server) -> None:
        postmap = server.setting("postfix_postmap", "postmap")
        config_dir = server.setting("postfix_config_dir", "")
        # postmap too reads main.cf: from the same folder, which need not be /etc/postfix.
        options = f"-c {q(config_dir)} " if config_dir else ""
        reload = f"postfix -c {q(config_dir)} reload" if config_dir else "postfix reload"
        script.add(
            COMMIT.format(
                maps=" ".join(MAPS),
                merge=q(MERGE),
                postmap=q(postmap),
                postmap_options=options,
                reload=said(reload, NOTICES),
            )
        )
