"""A BIND `named` that Hostdeck manages, as on a DNS server: named.conf includes the zone list and the
TSIG key file that the bind backend writes, rndc reaches it over its own control port. Run as a
primary or as a secondary of another."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.tsigkeyring

from .bind import NAMED
from .ports import HOST, free_port
from .proc import spawn, stop_tree
from .service import Service


class ManagedBind(Service):
    host = HOST

    def __init__(self, root: Path, nameservers: tuple[str, ...] = ("ns1.hostdeck.test", "ns2.hostdeck.test")) -> None:
        self.root = Path(root)
        self.nameservers = nameservers
        self.port = 0
        self.rndc_port = 0
        self.log_path = self.root / "named.log"
        self.zones_dir = self.root / "zones"
        self.zones_conf = self.root / "hostdeck-zones.conf"
        self.tsig_file = self.root / "hostdeck-xfer.key"
        self.conf = self.root / "named.conf"
        self.rndc_conf = self.root / "rndc.conf"

    def settings(self, **more: object) -> dict[str, object]:
        """The server settings of a Server row for this named."""
        return {
            "bind_zones_dir": str(self.zones_dir),
            "bind_zones_conf": str(self.zones_conf),
            "bind_named_conf": str(self.conf),
            "bind_rndc_config": str(self.rndc_conf),
            "bind_tsig_file": str(self.tsig_file),
            "dns_nameservers": list(self.nameservers),
            "dns_hostmaster": "hostmaster.hostdeck.test",
            "dns_ttl": 300,
            **more,
        }

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def _config(self) -> str:
        r = self.root
        return f"""\
include "{r}/rndc.key";
include "{self.tsig_file}";
options {{
  directory "{r}";
  pid-file "{r}/named.pid";
  session-keyfile "{r}/session.key";
  managed-keys-directory "{r}";
  listen-on port {self.port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  notify-source 127.0.0.1;
  transfer-source 127.0.0.1;
}};
controls {{ inet 127.0.0.1 port {self.rndc_port} allow {{ 127.0.0.1; }} keys {{ "rndc-key"; }}; }};
include "{self.zones_conf}";
"""

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.zones_dir.mkdir(exist_ok=True)
        self.port = self.port or free_port()
        self.rndc_port = self.rndc_port or free_port()
        subprocess.run(
            ["rndc-confgen", "-a", "-c", str(self.root / "rndc.key"), "-k", "rndc-key"], check=True, capture_output=True
        )
        self.rndc_conf.write_text(
            f'include "{self.root}/rndc.key";\n'
            f'options {{ default-key "rndc-key"; default-server 127.0.0.1; default-port {self.rndc_port}; }};\n'
        )
        for empty in (self.zones_conf, self.tsig_file):
            if not empty.exists():
                empty.write_text("")
        self.conf.write_text(self._config())
        subprocess.run(["named-checkconf", str(self.conf)], check=True)
        self._proc = spawn([NAMED, "-g", "-c", str(self.conf)], self.log_path)
        self.wait_started(self._answers, timeout, "named")

    def _answers(self) -> bool:
        try:
            query = dns.message.make_query("version.bind", dns.rdatatype.TXT, "CH")
            dns.query.udp(query, self.host, port=self.port, timeout=0.5)
            return True
        except (OSError, dns.exception.Timeout):
            return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_tree(proc)

    def ask(self, name: str, rtype: str = "A", *, dnssec: bool = False) -> dns.message.Message:
        query = dns.message.make_query(name, rtype, want_dnssec=dnssec)
        return dns.query.tcp(query, self.host, port=self.port, timeout=5)

    def answer(self, name: str, rtype: str = "A") -> list[str]:
        """The answer's records as text, sorted; [] for none."""
        reply = self.ask(name, rtype)
        wanted = dns.rdatatype.from_text(rtype)
        return sorted(rd.to_text() for rrset in reply.answer if rrset.rdtype == wanted for rd in rrset)

    def serial(self, zone: str) -> int | None:
        found = self.answer(zone, "SOA")
        return int(found[0].split()[2]) if found else None

    def resolver(self) -> dns.resolver.Resolver:
        found = dns.resolver.Resolver(configure=False)
        found.nameservers, found.port = [self.host], self.port
        return found

    def keyring(self) -> dict[dns.name.Name, dns.tsig.Key]:
        """The TSIG key the primary's script made (the operator copies this file to the secondaries)."""
        text = self.tsig_file.read_text()
        name = text.split('"', 2)[1]
        secret = text.split('secret "', 1)[1].split('"', 1)[0]
        return dns.tsigkeyring.from_text({name: ("hmac-sha256", secret)})

    def wait_for(self, check, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"named never got there:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)
