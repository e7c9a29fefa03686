"""BIND 9: one zone file per domain on a primary, and the list of zones (an include of named.conf).

Fragments only note which zones a change touches; the commit builds each of those zones
(orchestration/zones.py), writes it to a temporary file, checks it with named-checkzone and installs
it only if it passed and differs. A zone the checker refuses is not installed: the old one keeps
serving, and the changes behind it fail with the checker's words. The zone list is written whole
from the database; when it changed, named-checkconf checks it (the old one comes back if it fails)
and `rndc reconfig` loads it. Then each zone that changed is reloaded, once.

A secondary (`bind_role` secondary) only lists the zones, fetched from `bind_primaries` by AXFR
signed with the TSIG key. The key is made on the primary by its first script and copied to the
secondaries by the operator: it never reaches the portal.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

import dns.exception
import sqlalchemy as sa

from portal.extensions import db
from portal.models import DnsRecord, Domain, Server, Website
from portal.models.server_settings import setting_values
from portal.models.status import Provisioned
from portal.orchestration.backends.base import Backend
from portal.orchestration.backends.staged import STAGE, checked, said
from portal.orchestration.placement import accounts_here
from portal.orchestration.script import Script, UnsafeValue, q
from portal.orchestration.zones import ZoneConflict, served, zone_text

ZONE_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*$")
# What rndc and named-checkconf print when all is well (staged.said).
NOTICES = r"^(zone reload (queued|up-to-date)|zone reload successful|server reload successful)$"
DS = re.compile(r"^hostdeck-ds (\d+) (.+)$", re.M)

PREPARE = """\
hb_dir={zones_dir}
mkdir -p -m 0755 "$hb_dir"
if [ ! -d "$hb_dir/keys" ]; then  # DNSSEC keys, written by named: the zones folder's owner
  mkdir -m 0700 "$hb_dir/keys"
  chown --reference="$hb_dir" "$hb_dir/keys"
fi
exec 7>>"$hb_dir/.hostdeck.lock"
flock -w 60 7 || {{ echo "the zone files are locked by another change" >&2; exit 1; }}
hb_check={check}
hb_reload=()
hb_reconfig=0
hb_put() {{
  local zone=$1 refs=$2 file="$hb_dir/$1.zone" tmp out ref
  tmp=$(mktemp "$file.XXXXXX")
  hostdeck_cleanup+=("$tmp")
  printf '%s' "$3" > "$tmp"
  chmod 0644 "$tmp"
  if [ -n "$hb_check" ] && ! out=$(named-checkzone "$zone" "$tmp" 2>&1); then
    out=$(printf '%s' "$out" | grep -v -e '^zone .*: loaded serial' -e '^OK$' | tr '\\n' ' ')
    for ref in $refs; do printf 'hostdeck-refused %s %s\\n' "$ref" "the DNS server refused the zone $zone: $out"; done
    return 0
  fi
  if cmp -s "$tmp" "$file"; then return 0; fi
  mv -f "$tmp" "$file"
  hb_reload+=("$zone")
}}
"""
# Check only where BIND is installed, when there is no rndc to reload it (the demo).
CHECK = "$(command -v named-checkzone || true)"
RELOAD = """\
for hb_zone in "${{hb_reload[@]}}"; do
{reload}
done
"""
# DNSSEC: named makes the keys when it loads the zone; the DS records are for the registrar.
DS_FRAGMENT = """\
for hb_i in $(seq 50); do compgen -G "$hb_dir/keys/K"{zone}".+*.key" >/dev/null && break; sleep 0.1; done
for hb_key in "$hb_dir/keys/K"{zone}".+"*.key; do
  [ -e "$hb_key" ] || continue
  grep -q ' DNSKEY 257 ' "$hb_key" || continue
  printf 'hostdeck-ds %s %s\\n' {domain_id} "$(dnssec-dsfromkey -2 "$hb_key")"
done
"""
# named.conf includes the key file: the operator leaves an empty one, the first script fills it.
TSIG = """\
if [ ! -s {file} ]; then
  tsig-keygen -a hmac-sha256 {name} > {file}.hostdeck-new
  chmod 0640 {file}.hostdeck-new
  chgrp bind {file}.hostdeck-new 2>/dev/null || true
  mv -f {file}.hostdeck-new {file}
  hb_reconfig=1
fi
"""
NO_TSIG = """\
if [ ! -s {file} ]; then
  echo "the TSIG key {file} is missing: copy it from the primary DNS server (docs/dns-server.md)" >&2
  exit 1
fi
"""


@dataclass
class Pending:
    """What one script's changes touch: zones by domain id, accounts whose every zone may change
    (a website), zones that go; each with the operations behind it."""

    zones: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    accounts: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    gone: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


_PENDING: WeakKeyDictionary[Script, Pending] = WeakKeyDictionary()


def _zone(name: str) -> str:
    if not ZONE_NAME.match(name or ""):
        raise UnsafeValue(f"{name!r} cannot be a zone name")
    return name


def endpoint(text: str) -> str:
    """192.0.2.1:5353 or [2001:db8::1]:53 as BIND writes it: `192.0.2.1 port 5353`."""
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not re.match(r"^[0-9A-Fa-f:.]+$", host) or not port.isdigit():
        raise UnsafeValue(f"{text!r} is not an address")
    return f"{host} port {int(port)}"


def zones_conf(server: Server, domains: list[Domain]) -> str:
    values = setting_values(server.settings)
    folder, key = values["bind_zones_dir"], values["bind_tsig_name"]
    lines = ["# Written by Hostdeck (the bind backend): changes made here are lost."]
    for domain in domains:
        name = _zone(domain.name)
        lines.append(f'zone "{name}" {{')
        lines.append(f'  file "{folder}/{name}.zone";')
        if values["bind_role"] == "secondary":
            primaries = " ".join(f'{endpoint(p)} key "{key}";' for p in values["bind_primaries"])
            lines += ["  type secondary;", f"  primaries {{ {primaries} }};"]
        else:
            lines.append("  type primary;")
            if values["bind_secondaries"]:
                notify = " ".join(f'{endpoint(s)} key "{key}";' for s in values["bind_secondaries"])
                lines += [
                    "  notify explicit;",
                    f"  also-notify {{ {notify} }};",
                    f'  allow-transfer {{ key "{key}"; }};',
                ]
            else:
                lines += ["  notify no;", "  allow-transfer { none; };"]
            if domain.dnssec or domain.dnssec_ds:  # once signed, "insecure" unsigns it step by step
                policy = "default" if domain.dnssec else "insecure"
                lines += [f"  dnssec-policy {policy};", "  inline-signing yes;", f'  key-directory "{folder}/keys";']
        lines.append("};")
    return "\n".join(lines) + "\n"


class BindBackend(Backend[Provisioned]):
    name = "bind"
    handles = ("Domain", "DnsRecord", "Website")

    def payload(self, obj: Provisioned, server: Server) -> dict[str, Any]:
        if isinstance(obj, Domain):
            return {"id": obj.id, "name": obj.name, "account_id": obj.account_id}
        if isinstance(obj, DnsRecord):
            return {"domain_id": obj.domain_id}
        return {"account_id": obj.account_id}

    def _pending(self, script: Script) -> Pending:
        return _PENDING.setdefault(script, Pending())

    def _note(self, script: Script, obj_or_payload: Provisioned | dict[str, Any], ref: int) -> None:
        pending = self._pending(script)
        if isinstance(obj_or_payload, Domain):
            pending.zones[obj_or_payload.id].add(ref)
            pending.accounts[obj_or_payload.account_id].add(ref)  # a parent zone delegates to it
        elif isinstance(obj_or_payload, DnsRecord):
            pending.zones[obj_or_payload.domain_id].add(ref)
        elif isinstance(obj_or_payload, Website):
            pending.accounts[obj_or_payload.account_id].add(ref)
        elif isinstance(obj_or_payload, dict):
            payload = obj_or_payload
            if "name" in payload:
                pending.gone[_zone(payload["name"])].add(ref)
            if "domain_id" in payload:
                pending.zones[int(payload["domain_id"])].add(ref)
            if "account_id" in payload:  # the zones above a domain that went delegate to it
                pending.accounts[int(payload["account_id"])].add(ref)

    def prepare(self, script: Script, server: Server) -> None:
        values = setting_values(server.settings)
        check = "1" if values["bind_rndc"] else CHECK
        script.add(STAGE)
        script.add(PREPARE.format(zones_dir=q(values["bind_zones_dir"]), check=check))

    def save(self, script: Script, server: Server, obj: Provisioned, secret: str | None, ref: int = 0) -> None:
        self._note(script, obj, ref)

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        self._note(script, payload, ref)

    def _rndc(self, server: Server, *args: str) -> str:
        values = setting_values(server.settings)
        config = f" -c {q(values['bind_rndc_config'])}" if values["bind_rndc_config"] else ""
        return f"{q(values['bind_rndc'])}{config} " + " ".join(args)

    def commit(self, script: Script, server: Server) -> None:
        pending = _PENDING.pop(script, Pending())
        values = setting_values(server.settings)
        primary = values["bind_role"] == "primary"
        domains = served(server, accounts_here(server.id))
        by_id = {d.id: d for d in domains}
        refs: dict[int, set[int]] = defaultdict(set)
        for domain_id, zone_refs in pending.zones.items():
            if domain_id in by_id:
                refs[domain_id] |= zone_refs
        for domain in domains:
            refs[domain.id] |= pending.accounts.get(domain.account_id, set())
        signed: list[Domain] = []
        for domain_id in sorted(d for d, r in refs.items() if r):
            domain = by_id[domain_id]
            if not primary:
                continue
            try:
                text = zone_text(domain, server)
            except ValueError as exc:  # no nameservers set: every zone would be broken
                raise UnsafeValue(str(exc)) from exc
            except (dns.exception.DNSException, ZoneConflict) as exc:  # a stored value that cannot stand
                for ref in sorted(refs[domain_id]):
                    script.add(f"printf 'hostdeck-refused %s %s\\n' {ref} {q(f'the zone cannot be built: {exc}')}")
                continue
            script.add(f"hb_put {q(_zone(domain.name))} {q(' '.join(map(str, sorted(refs[domain_id]))))} {q(text)}")
            if domain.dnssec:
                signed.append(domain)
        if primary and values["bind_secondaries"]:
            script.add(TSIG.format(file=q(values["bind_tsig_file"]), name=q(values["bind_tsig_name"])))
        elif not primary:
            script.add(NO_TSIG.format(file=q(values["bind_tsig_file"])))
        conf = values["bind_zones_conf"]
        script.add(
            f'hb_tmp=$(mktemp {q(conf)}.XXXXXX)\nhostdeck_cleanup+=("$hb_tmp")\n'
            f'printf \'%s\' {q(zones_conf(server, domains))} > "$hb_tmp"\nchmod 0644 "$hb_tmp"\n'
            f'if ! cmp -s "$hb_tmp" {q(conf)}; then\n'
            f'hs_stage {q(conf)}\nmv -f "$hb_tmp" {q(conf)}\nhb_reconfig=1\nfi'
        )
        if values["bind_rndc"]:
            reconfig = checked(
                f"named-checkconf {q(values['bind_named_conf'])}",
                self._rndc(server, "reconfig"),
                "BIND",
                NOTICES,
                NOTICES,
            )
            script.add(f'if [ "$hb_reconfig" = 1 ]; then\n{reconfig}\nelse\nhs_keep\nfi')
            script.add(RELOAD.format(reload=said(self._rndc(server, "reload", '"$hb_zone"'), NOTICES)))
            for domain in signed:
                script.add(DS_FRAGMENT.format(zone=q(domain.name), domain_id=int(domain.id)))
        else:
            script.add("hs_keep")
        for name in sorted(set(pending.gone) - {d.name for d in domains}):  # a zone served again stays
            script.add(f'rm -f -- "$hb_dir"/{q(name + ".zone")} "$hb_dir"/{q(name + ".zone")}.*')

    def report(self, server: Server, stdout: str, objects: dict[tuple[str, int], Provisioned]) -> None:
        found: dict[int, list[str]] = defaultdict(list)
        for domain_id, line in DS.findall(stdout):
            found[int(domain_id)].append(line.strip())
        if found:
            for domain in db.session.scalars(sa.select(Domain).where(Domain.id.in_(found))):
                domain.dnssec_ds = "\n".join(found[domain.id])
