"""A throwaway Pebble (the ACME test CA) on 127.0.0.1, resolving names through a test BIND.

Found with Pebble 2.4 (Debian) here:
- It ships no test certificates: the CA of its HTTPS listener and the listener's certificate (for
  localhost and 127.0.0.1) are made with openssl. That CA is what clients verify; /roots/0 on the
  management port is the *issuing* root, a new one on every start.
- It fetches http-01 answers from <name>:httpPort, the name resolved through -dnsserver: httpPort is
  the test nginx's port, and the names point at 127.0.0.1 in the test BIND.
- PEBBLE_VA_NOSLEEP=1 (no random wait before validating), PEBBLE_WFE_NONCEREJECT=0 (no nonce refused at
  random), PEBBLE_AUTHZREUSE=0 (a new order gets new authorizations).
- It offers no ACME Renewal Information (renewalInfo): clients fall back to their own renewal time.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from .ports import HOST, free_port, port_open
from .proc import spawn, stop_tree
from .service import Service

PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
ENV = ("PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Pebble(Service):
    host = HOST

    def __init__(self, root: Path, http_port: int, dns_server: str, eab: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.eab = eab  # key id -> base64url HMAC key: new accounts must bind to one (External Account Binding)
        self.http_port = http_port
        self.dns_server = dns_server
        self.port = 0
        self.management_port = 0
        self.log_path = self.root / "pebble.log"
        self.ca_path = self.root / "https-ca.pem"  # verifies the ACME server's HTTPS (ACME_CA_BUNDLE)

    @property
    def directory(self) -> str:
        return f"https://localhost:{self.port}/dir"

    def _certificates(self) -> None:
        ca_key, key, csr, cert = (self.root / n for n in ("https-ca.key", "https.key", "https.csr", "https.pem"))
        _openssl(
            *("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"),
            *("-subj", "/CN=Hostdeck test Pebble HTTPS CA", "-keyout", str(ca_key), "-out", str(self.ca_path)),
        )
        _openssl(
            *("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"),
            *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr)),
        )
        ext = self.root / "san.ext"
        ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _openssl(
            *("x509", "-req", "-in", str(csr), "-CA", str(self.ca_path), "-CAkey", str(ca_key), "-CAcreateserial"),
            *("-days", "2", "-extfile", str(ext), "-out", str(cert)),
        )

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.ca_path.exists():
            self._certificates()
        self.port = self.port or free_port()
        self.management_port = self.management_port or free_port()
        config = {
            "pebble": {
                "listenAddress": f"{self.host}:{self.port}",
                "managementListenAddress": f"{self.host}:{self.management_port}",
                "certificate": str(self.root / "https.pem"),
                "privateKey": str(self.root / "https.key"),
                "httpPort": self.http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": bool(self.eab),
                **({"externalAccountMACKeys": self.eab} if self.eab else {}),
            }
        }
        conf = self.root / "pebble.json"
        conf.write_text(json.dumps(config))
        argv = ["env", *ENV, PEBBLE, "-config", str(conf), "-dnsserver", self.dns_server]
        self._proc = spawn(argv, self.log_path)
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if time.monotonic() > deadline or not self.running:
                self.stop()
                raise RuntimeError(f"pebble did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_tree(proc)

    def issuing_root(self) -> str:
        """The root the certificates it issues chain to (PEM); a new one on every start."""
        context = ssl.create_default_context(cafile=str(self.ca_path))
        url = f"https://localhost:{self.management_port}/roots/0"
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            return answer.read().decode()

    def orders(self) -> int:
        """How many new orders it was sent (it logs each POST to new-order)."""
        return self.log_text().count("POST /order-plz")
