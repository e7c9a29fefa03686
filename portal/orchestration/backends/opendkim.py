"""OpenDKIM: each mail domain's DKIM keys, made on the mail server, and the tables that sign with them.

Files (server settings):
  <opendkim_keys_dir>/<domain>/<selector>.private   made here by opendkim-genkey, 0600, opendkim_user's
  opendkim_key_table      <selector>._domainkey.<domain> <domain>:<selector>:<key file>   (KeyTable file:)
  opendkim_signing_table  *@<domain> <selector>._domainkey.<domain>                      (SigningTable refile:)

A domain's save makes its missing key pairs and prints, per key, only the public one:
`hostdeck-dkim <domain id> <selector> <base64>` (report() stores it; the private key never leaves the
server). The tables carry each domain's ACTIVE key only: a key signs once it is published. The commit
merges the changed domains' lines into both tables, checks that every key they name is there, installs
them (the old ones come back if not), signals OpenDKIM to re-read them (SIGUSR1 re-reads its config and
tables), and only then removes the key files of selectors the database no longer has.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from portal.models import Domain, Server
from portal.models.status import Provisioned
from portal.orchestration import dkim
from portal.orchestration.backends.base import Backend
from portal.orchestration.backends.staged import STAGE, checked
from portal.orchestration.script import Script, UnsafeValue, q

log = logging.getLogger(__name__)
BITS = 2048

PREPARE = """\
hk_keys={keys_dir}
hk_user={user}
hk_kt={key_table}
hk_st={signing_table}
mkdir -p "$hk_keys"
exec 7>>"$hk_keys/.hostdeck.lock"
flock -w 60 7 || {{ echo "the DKIM keys are locked by another change" >&2; exit 1; }}
declare -A hk_changed=()
hk_kt_lines=''
hk_st_lines=''
hk_stale=()
hk_gone=()
# $1 domain id, $2 domain, then the selectors it has: make the missing keys, print the public ones,
# note the key files of other selectors for removal.
hk_keys_of() {{
  local id=$1 domain=$2 dir="$hk_keys/$2" sel key tmp found
  shift 2
  hk_changed[$domain]=1
  install -d -m 0700 -o "$hk_user" "$dir"
  for sel in "$@"; do
    key="$dir/$sel.private"
    if [ ! -s "$key" ]; then
      tmp=$(mktemp -d "$dir/.hostdeck-new.XXXXXX")
      hostdeck_cleanup+=("$tmp/$sel.private" "$tmp/$sel.txt")
      opendkim-genkey -b {bits} -d "$domain" -s "$sel" -D "$tmp" >/dev/null
      chown "$hk_user" "$tmp/$sel.private"
      chmod 0600 "$tmp/$sel.private"
      mv -f "$tmp/$sel.private" "$key"
      rm -f -- "$tmp/$sel.txt"
      rmdir -- "$tmp"
    fi
    echo "hostdeck-dkim $id $sel $(openssl pkey -in "$key" -pubout -outform DER | base64 -w0)"
  done
  for key in "$dir"/*.private; do
    [ -e "$key" ] || continue
    found=${{key##*/}}
    found=${{found%.private}}
    case " $* " in *" $found "*) ;; *) hk_stale+=("$key") ;; esac
  done
}}
# $1 domain, $2 its signing selector.
hk_sign() {{
  hk_kt_lines+="$2._domainkey.$1 $1:$2:$hk_keys/$1/$2.private"$'\\n'
  hk_st_lines+="*@$1 $2._domainkey.$1"$'\\n'
}}
# Every key file the new KeyTable names is there.
hk_check() {{
  local name spec
  while read -r name spec; do
    [ -n "$name" ] || continue
    [ -s "${{spec#*:*:}}" ] || {{ echo "no key file ${{spec#*:*:}} for $name"; return 1; }}
  done < "$hk_kt.hostdeck-next"
}}
"""

# A line stays unless its domain changed: the KeyTable's domain is the second field's first part, the
# SigningTable's the first field after "*@".
MERGE = r"""
BEGIN { n = split(ENVIRON["HK_CHANGED"], d, "\n"); for (i = 1; i <= n; i++) if (d[i] != "") changed[d[i]] = 1 }
NF == 0 { next }
{ if (ENVIRON["HK_TABLE"] == "key") { split($2, part, ":"); domain = part[1] } else domain = substr($1, 3) }
!(domain in changed) { print }
"""

COMMIT = """\
if [ "${{#hk_changed[@]}}" -gt 0 ]; then
  hk_domains=$(printf '%s\\n' "${{!hk_changed[@]}}")
  for hk_table in key signing; do
    if [ "$hk_table" = key ]; then hk_file=$hk_kt; hk_new=$hk_kt_lines; else hk_file=$hk_st; hk_new=$hk_st_lines; fi
    hk_old=/dev/null
    if [ -e "$hk_file" ]; then hk_old=$hk_file; fi
    hostdeck_cleanup+=("$hk_file.hostdeck-next")
    {{ HK_CHANGED=$hk_domains HK_TABLE=$hk_table awk {merge} "$hk_old"; printf '%s' "$hk_new"; }} \\
      | LC_ALL=C sort -u > "$hk_file.hostdeck-next"
    chmod 0644 "$hk_file.hostdeck-next"
  done
  if ! hk_out=$(hk_check); then echo "$hk_out" >&2; exit 1; fi
  hs_stage "$hk_kt"
  mv -f "$hk_kt.hostdeck-next" "$hk_kt"
  hs_stage "$hk_st"
  mv -f "$hk_st.hostdeck-next" "$hk_st"
{reload}
  for hk_key in "${{hk_stale[@]}}"; do rm -f -- "$hk_key"; done
  for hk_key in "${{hk_gone[@]}}"; do rmdir --ignore-fail-on-non-empty -- "$hk_keys/$hk_key"; done
fi
"""

# After the tables are in place: OpenDKIM runs (its pid file names a live process), then re-reads them.
RELOAD = 'kill -0 "$(cat {pid_file})"'


def _domain(name: str) -> str:
    if not dkim.DOMAIN.match(name):
        raise UnsafeValue(f"{name!r} cannot be a DKIM signing domain")
    return name


def _selector(selector: str) -> str:
    if not dkim.SELECTOR.match(selector):
        raise UnsafeValue(f"{selector!r} cannot be a DKIM selector")
    return selector


def public_key(text: str) -> str | None:
    """The base64 of an RSA public key of at least 1024 bits, as the script printed it; else None."""
    try:
        key = load_der_public_key(base64.b64decode(text, validate=True))
    except ValueError:
        return None
    return text if isinstance(key, RSAPublicKey) and key.key_size >= 1024 else None


class OpenDkimBackend(Backend[Domain]):
    name = "opendkim"
    handles = ("Domain",)

    def payload(self, obj: Domain, server: Server) -> dict[str, Any]:
        return {"domain": obj.name}

    def prepare(self, script: Script, server: Server) -> None:
        script.add(STAGE)
        script.add(
            PREPARE.format(
                keys_dir=q(server.setting("opendkim_keys_dir", "/etc/opendkim/keys")),
                user=q(server.setting("opendkim_user", "opendkim")),
                key_table=q(server.setting("opendkim_key_table", "/etc/opendkim/KeyTable")),
                signing_table=q(server.setting("opendkim_signing_table", "/etc/opendkim/SigningTable")),
                bits=BITS,
            )
        )

    def save(self, script: Script, server: Server, obj: Domain, secret: str | None, ref: int = 0) -> None:
        domain = _domain(obj.name)
        keys = dkim.first_key(obj)
        selectors = [_selector(k.selector) for k in keys]
        script.add(f"hk_keys_of {q(obj.id)} {q(domain)} {' '.join(q(s) for s in selectors)}")
        signing = dkim.signing_key(keys)
        if signing is not None:
            script.add(f"hk_sign {q(domain)} {q(signing.selector)}")

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        domain = _domain(str(payload.get("domain", "")))
        # No selectors: every key file of the domain is stale, removed once the tables no longer name it.
        script.add(f"hk_keys_of 0 {q(domain)}\nhk_gone+=({q(domain)})")

    def commit(self, script: Script, server: Server) -> None:
        pid_file = server.setting("opendkim_pid_file", "/run/opendkim/opendkim.pid")
        if pid_file:
            check = RELOAD.format(pid_file=q(pid_file))
            reload = checked(check, f'kill -USR1 "$(cat {q(pid_file)})"', "OpenDKIM")
        else:  # the demo: tables written, nothing to signal
            reload = "hs_keep"
        script.add(COMMIT.format(merge=q(MERGE), reload=reload))

    def report(self, server: Server, stdout: str, objects: dict[tuple[str, int], Provisioned]) -> None:
        """Store each public key the script printed, for the domains this script saved."""
        stored = []
        for domain_id, selector, text in dkim.MARKER.findall(stdout):
            domain = objects.get(("Domain", int(domain_id)))
            if not isinstance(domain, Domain):
                continue
            key = next((k for k in dkim.keys_of(domain) if k.selector == selector), None)
            value = public_key(text)
            if key is None or value is None or key.public_key == value:
                continue
            if key.public_key:  # the server lost the key and made another: publish it again
                log.warning("server %s: DKIM key %s of %s changed on the server", server.name, selector, domain.name)
            key.public_key = value
            stored.append(domain.id)
        dkim.note(dkim.STORED, stored)
