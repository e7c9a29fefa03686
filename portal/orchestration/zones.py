"""A domain's DNS zone, built from the database with dnspython: never pasted together from strings.

Every verified domain is a zone. Its records are those the services need (`published()`: the
websites' addresses, mail, SPF, DKIM, DMARC, mail client settings, CAA, the proof record, ACME
answers, delegations to the account's subdomains that are zones of their own), then the customer's
own (`custom()`). SOA and NS come from the settings of the primary DNS server. The serial is the date
and a counter (YYYYMMDDnn) and only ever grows; it moves only when what the zone holds changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.zone
import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import Certificate, DkimKey, DnsRecord, Domain, Server, Status, Website, utcnow, website_domain
from portal.models.dns import DkimState
from portal.models.server_settings import setting_values
from portal.orchestration.placement import place
from portal.orchestration.proof import PREFIX, proven, token
from portal.orchestration.routes import routed_servers
from portal.words import lazy_gettext

# SOA timers: refresh, retry, expire, negative-answer TTL.
SOA_TIMERS = (3600, 900, 1209600, 300)
# What each source of a published record is for, in words for people.
SOURCES = {
    "ns": lazy_gettext("The DNS servers of this zone."),
    "website": lazy_gettext("Your website, on its web server."),
    "mail": lazy_gettext("Mail for this domain goes to its mail server."),
    "spf": lazy_gettext("SPF: the servers allowed to send this domain's mail."),
    "dkim": lazy_gettext("DKIM: the key receivers check this domain's mail signatures with."),
    "dmarc": lazy_gettext("DMARC: what receivers do with mail that fails SPF and DKIM."),
    "autoconfig": lazy_gettext("Mail programs find their settings here."),
    "caa": lazy_gettext("CAA: the certificate authority allowed to issue for this domain."),
    "proof": lazy_gettext("The record that proves this domain is yours."),
    "acme": lazy_gettext("A certificate authority is checking this name (removed when done)."),
    "delegation": lazy_gettext("A subdomain with a zone of its own."),
}
TXT_CHUNK = 255


class ZoneConflict(Exception):
    """Records that cannot stand together: dnspython would quietly drop one of them."""


@dataclass(frozen=True)
class Published:
    name: str  # relative to the zone: "@", "www", "_dmarc"
    rtype: str
    ttl: int
    value: str  # rdata as dnspython writes it, names absolute
    source: str

    @property
    def words(self) -> str:
        return str(SOURCES[self.source])


def txt(text: str) -> str:
    """A TXT value holding text, split into strings of at most 255 bytes, quoted by dnspython."""
    raw = text.encode()
    chunks = [raw[i : i + TXT_CHUNK] for i in range(0, len(raw), TXT_CHUNK)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks).to_text()


def _absolute(host: str) -> str:
    return host.rstrip(".") + "."


def _relative(name: str, zone: str) -> str:
    """A name inside the zone, as the zone writes it."""
    if name == zone:
        return "@"
    return name[: -len(zone) - 1]


def primaries(account_id: int) -> list[Server]:
    """The DNS servers that write this account's zones (a secondary only copies them)."""
    return [
        s for s in place(routed_servers("bind"), account_id) if setting_values(s.settings)["bind_role"] == "primary"
    ]


def nameservers(account_id: int) -> list[str]:
    for server in primaries(account_id):
        names: list[str] = setting_values(server.settings)["dns_nameservers"]
        if names:
            return names
    return []


def _addresses(backend: str, account_id: int) -> list[str]:
    found: list[str] = []
    for server in place(routed_servers(backend), account_id):
        for address in setting_values(server.settings)["public_addresses"]:
            if address not in found:
                found.append(address)
    return found


def mail_hosts(account_id: int) -> list[str]:
    hosts: list[str] = []
    for server in place(routed_servers("postfix"), account_id):
        host = setting_values(server.settings)["mail_hostname"] or server.host
        if any(c.isalpha() for c in host) and ":" not in host and host not in hosts:  # MX needs a name
            hosts.append(host)
    return hosts


def _websites(domain: Domain) -> list[Website]:
    return list(
        db.session.scalars(
            sa.select(Website)
            .join(website_domain)
            .where(website_domain.c.domain_id == domain.id, Website.status != Status.DELETING)
            .order_by(Website.id)
        )
    )


def _child_zones(domain: Domain) -> list[Domain]:
    """The account's other zones below this one (shop.example.org under example.org)."""
    rows = db.session.scalars(
        sa.select(Domain).where(
            Domain.account_id == domain.account_id,
            Domain.name.endswith("." + domain.name, autoescape=True),
            Domain.status != Status.DELETING,
        )
    )
    return [d for d in rows if proven(d)]


def _ttl(account_id: int) -> int:
    for server in primaries(account_id):
        return int(setting_values(server.settings)["dns_ttl"])
    return 3600


def published(domain: Domain, ns: list[str] | None = None, ttl: int | None = None) -> list[Published]:
    """The records the services need, in a fixed order. `ns`: the nameservers (default: the
    account's primary DNS server's)."""
    zone, account = domain.name, domain.account_id
    ttl = ttl or _ttl(account)
    ns = nameservers(account) if ns is None else ns
    out: list[Published] = [Published("@", "NS", ttl, _absolute(n), "ns") for n in ns]
    websites = _websites(domain)
    web = _addresses("nginx", account) if websites else []
    names = ["@"] + (["www"] if any(w.with_www for w in websites) else [])
    for name in names + (["*"] if any(w.wildcard for w in websites) else []):
        for address in web:
            out.append(Published(name, "AAAA" if ":" in address else "A", ttl, address, "website"))
    hosts = mail_hosts(account)
    if hosts:
        out += [Published("@", "MX", ttl, f"{10 * (i + 1)} {_absolute(h)}", "mail") for i, h in enumerate(hosts)]
        senders = " ".join(("ip6:" if ":" in a else "ip4:") + a for a in _addresses("postfix", account))
        out.append(Published("@", "TXT", ttl, txt(" ".join(filter(None, ["v=spf1 mx", senders, "-all"]))), "spf"))
        dmarc = "v=DMARC1; p=none" + (f"; rua=mailto:{domain.dmarc_reports}" if domain.dmarc_reports else "")
        out.append(Published("_dmarc", "TXT", ttl, txt(dmarc), "dmarc"))
        for key in db.session.scalars(
            sa.select(DkimKey)
            .where(DkimKey.domain_id == domain.id, DkimKey.public_key != "")
            .where(DkimKey.state.in_([DkimState.NEW, DkimState.ACTIVE, DkimState.RETIRING]))
            .order_by(DkimKey.selector)
        ):
            out.append(
                Published(f"{key.selector}._domainkey", "TXT", ttl, txt(f"v=DKIM1; k=rsa; p={key.public_key}"), "dkim")
            )
        host = _absolute(hosts[0])
        out += [
            Published("autoconfig", "CNAME", ttl, host, "autoconfig"),
            Published("autodiscover", "CNAME", ttl, host, "autoconfig"),
            Published("_imaps._tcp", "SRV", ttl, f"0 1 993 {host}", "autoconfig"),
            Published("_submission._tcp", "SRV", ttl, f"0 1 587 {host}", "autoconfig"),
        ]
    authorities = [a.strip() for a in str(current_app.config.get("ACME_CAA", "")).split(",") if a.strip()]
    if authorities and current_app.config.get("ACME_DIRECTORY") and any(w.tls_mode == "auto" for w in websites):
        for tag in ("issue", "issuewild"):
            out += [Published("@", "CAA", ttl, f'0 {tag} "{a}"', "caa") for a in authorities]
    out.append(Published(PREFIX, "TXT", ttl, txt(token(account, zone)), "proof"))
    for cert in db.session.scalars(sa.select(Certificate).where(Certificate.account_id == account)):
        for name, values in sorted((cert.dns_challenges or {}).items()):
            if name.endswith("." + zone):
                out += [Published(_relative(name, zone), "TXT", 60, txt(v), "acme") for v in values]
    for child in _child_zones(domain):
        out += [Published(_relative(child.name, zone), "NS", ttl, _absolute(n), "delegation") for n in ns]
    return out


def custom(domain: Domain) -> list[DnsRecord]:
    """The customer's own records, those not being deleted."""
    return list(
        db.session.scalars(
            sa.select(DnsRecord)
            .where(DnsRecord.domain_id == domain.id, DnsRecord.status != Status.DELETING)
            .order_by(DnsRecord.name, DnsRecord.rtype, DnsRecord.id)
        )
    )


def build(domain: Domain, server: Server, serial: int) -> dns.zone.Zone:
    """The zone as the primary `server` publishes it."""
    values = setting_values(server.settings)
    ns: list[str] = values["dns_nameservers"]
    if not ns:
        raise ValueError("the server's setting dns_nameservers is empty: every zone needs its NS records")
    origin = dns.name.from_text(domain.name)
    zone = dns.zone.Zone(origin, relativize=False)
    ttl = int(values["dns_ttl"])
    contact = values["dns_hostmaster"] or f"hostmaster.{domain.name}"
    soa = f"{_absolute(ns[0])} {_absolute(contact)} {serial} {' '.join(map(str, SOA_TIMERS))}"
    records = [Published("@", "SOA", ttl, soa, "ns"), *published(domain, ns, ttl)]
    records += [Published(r.name, r.rtype, r.ttl, r.value, "custom") for r in custom(domain)]
    types: dict[dns.name.Name, set[str]] = {}
    for record in records:
        name = dns.name.from_text(record.name, origin)
        seen = types.setdefault(name, set())
        seen.add(record.rtype)
        if "CNAME" in seen and len(seen) > 1:
            raise ZoneConflict(f"{name.to_text(omit_final_dot=True)} has a CNAME and other data")
        rdtype = dns.rdatatype.from_text(record.rtype)
        rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, record.value, origin=origin, relativize=False)
        zone.find_rdataset(name, rdtype, create=True).add(rdata, record.ttl)
    return zone


def zone_text(domain: Domain, server: Server) -> str:
    """The zone file, its serial moved on if what it holds changed since the serial last moved."""
    digest = hashlib.sha256(build(domain, server, 0).to_text(relativize=False).encode()).hexdigest()
    if digest != domain.dns_digest:
        today = int(utcnow().strftime("%Y%m%d")) * 100
        domain.dns_serial, domain.dns_digest = max(today, domain.dns_serial + 1), digest
    return build(domain, server, domain.dns_serial).to_text(relativize=False)


def served(server: Server, account_ids: list[int] | None) -> list[Domain]:
    """The zones a DNS server holds: the verified domains of the accounts that live there."""
    query = sa.select(Domain).where(Domain.status != Status.DELETING).order_by(Domain.name)
    if account_ids is not None:
        query = query.where(Domain.account_id.in_(account_ids))
    return [d for d in db.session.scalars(query) if proven(d)]
