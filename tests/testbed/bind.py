"""A throwaway BIND `named` on 127.0.0.1, authoritative for a few zones that tests change with
TSIG-signed updates (dnspython), as a customer changes records at their DNS host."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update

from .ports import HOST, free_port
from .proc import spawn, stop_tree
from .service import Service

NAMED = "/usr/sbin/named"
KEY_NAME = "hostdeck-test-update"
ZONE_FILE = """\
$TTL 60
@ IN SOA ns1.{zone}. hostmaster.{zone}. 1 60 60 600 60
@ IN NS ns1.{zone}.
ns1 IN A 127.0.0.1
"""


class Bind(Service):
    """named -g as our child: the zones start with only SOA and NS; set_txt()/remove() change them."""

    host = HOST

    def __init__(self, root: Path, zones: tuple[str, ...]) -> None:
        self.root = Path(root)
        self.zones = zones
        self.port = 0
        self.log_path = self.root / "named.log"
        self._secret = ""

    @property
    def resolver(self) -> str:
        """The DNS_RESOLVERS setting that reaches it."""
        return f"{self.host}:{self.port}"

    def _config(self) -> str:
        zones = "".join(
            f'zone "{zone}" {{ type primary; file "{self.root / zone}.zone"; '
            f'allow-update {{ key "{KEY_NAME}"; }}; }};\n'
            for zone in self.zones
        )
        return f"""\
key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{self._secret}"; }};
options {{
  directory "{self.root}";
  pid-file "{self.root}/named.pid";
  session-keyfile "{self.root}/session.key";
  managed-keys-directory "{self.root}";
  key-directory "{self.root}";
  listen-on port {self.port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  notify no;
}};
controls {{ }};
{zones}"""

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        made = subprocess.run(["tsig-keygen", "-a", "hmac-sha256", KEY_NAME], capture_output=True, text=True)
        self._secret = made.stdout.split('secret "', 1)[1].split('"', 1)[0]
        for zone in self.zones:
            (self.root / f"{zone}.zone").write_text(ZONE_FILE.format(zone=zone))
        conf = self.root / "named.conf"
        conf.write_text(self._config())
        subprocess.run(["named-checkconf", str(conf)], check=True)
        self._proc = spawn([NAMED, "-g", "-c", str(conf)], self.log_path)
        self.wait_started(self._answers, timeout, "named")

    def _answers(self) -> bool:
        try:
            query = dns.message.make_query(self.zones[0], dns.rdatatype.SOA)
            return dns.query.udp(query, self.host, port=self.port, timeout=0.5).rcode() == dns.rcode.NOERROR
        except (OSError, dns.exception.Timeout):
            return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_tree(proc)

    def _zone_of(self, name: str) -> str:
        return max((z for z in self.zones if name == z or name.endswith(f".{z}")), key=len)

    def _update(self, name: str, change) -> None:
        zone = self._zone_of(name)
        keyring = dns.tsigkeyring.from_text({KEY_NAME: self._secret})
        update = dns.update.UpdateMessage(zone, keyring=keyring, keyalgorithm="hmac-sha256")
        change(update, dns.name.from_text(name))
        reply = dns.query.tcp(update, self.host, port=self.port, timeout=5)
        assert reply.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(reply.rcode())

    def set_txt(self, name: str, *values: str) -> None:
        """The TXT record `name` holds exactly these strings (one record each)."""

        def change(update, owner):
            update.delete(owner, "TXT")
            for value in values:
                update.add(owner, 60, "TXT", f'"{value}"')

        self._update(name, change)

    def set_a(self, name: str, *addresses: str) -> None:
        """`name` has exactly these A records (none: no A record)."""

        def change(update, owner):
            update.delete(owner, "A")
            for address in addresses:
                update.add(owner, 60, "A", address)

        self._update(name, change)

    def remove(self, name: str) -> None:
        self._update(name, lambda update, owner: update.delete(owner))
