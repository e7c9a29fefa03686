"""What the ACME work runs on the web server, through the same transports and server lock as an apply,
each run kept as a BackendLog: making the certificate's key and CSR (the key never leaves the server),
and writing or removing the files that answer http-01 challenges (nginx serves them, no reload)."""

from __future__ import annotations

import posixpath
import re

from flask import current_app

from portal.extensions import db
from portal.models import BackendLog, LogState, Server, utcnow
from portal.orchestration.backends.nginx import acme_dir, next_key
from portal.orchestration.locks import server_lock
from portal.orchestration.script import Script, q
from portal.orchestration.transports import ExecTimeout, TransportError, exec_timeout, transport_for

CSR = re.compile(r"-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n?")
# umask 077 (the script's header) makes the key 0600; it is made beside the live key and goes live only
# with the chain issued for it (backends/nginx.py).
KEY_AND_CSR = """\
mkdir -p -m 0700 {folder}
rm -f -- {tmp}
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out {tmp} 2>/dev/null
mv -f -- {tmp} {key}
openssl req -new -key {key} -subj / -addext {san}"""


class ScriptFailed(Exception):
    """The web server did not run it; the message is for staff (what it printed, redacted)."""


def run(server: Server, script: Script, what: str) -> str:
    """Run the script on the server under its lock; keep a BackendLog; its stdout, or ScriptFailed."""
    config = current_app.config
    limit = exec_timeout(server, config)
    entry = BackendLog(server_id=server.id, state=LogState.STARTED, started_at=utcnow(), backends=what)
    entry.script = script.redacted()
    stdout = ""
    try:
        with server_lock(server.id, wait=max(10, config["RQ_JOB_TIMEOUT"] - limit - 120)):
            result = transport_for(server, config).run(script.text, limit)
    except (TransportError, ExecTimeout) as exc:
        entry.state, entry.error = LogState.ERROR, script.redact(str(exc))
    else:
        entry.exit_code = result.exit_code
        entry.stdout, entry.stderr = script.redact(result.stdout), script.redact(result.stderr)
        ok = result.exit_code == 0
        entry.state = (LogState.WARNING if result.stderr.strip() else LogState.SUCCESS) if ok else LogState.FAILURE
        stdout = result.stdout if ok else ""
        if not ok:
            entry.error = f"exit {result.exit_code}"
    entry.finished_at = utcnow()
    db.session.add(entry)
    db.session.commit()
    if entry.state not in (LogState.SUCCESS, LogState.WARNING):
        raise ScriptFailed(f"{server.name}: {entry.error}: {entry.stderr.strip()[-500:]}".strip())
    return stdout


def key_and_csr(server: Server, website_id: int, names: list[str]) -> str:
    """A new key at the .next path on the server, and its CSR (PEM) for these names."""
    key = next_key(server, website_id)
    script = Script()
    script.add(
        KEY_AND_CSR.format(
            folder=q(posixpath.dirname(key)),
            tmp=q(key + ".tmp"),
            key=q(key),
            san=q("subjectAltName=" + ",".join(f"DNS:{name}" for name in names)),
        )
    )
    found = CSR.search(run(server, script, "acme-key"))
    if found is None:
        raise ScriptFailed(f"{server.name}: the script printed no CSR")
    return found.group(0)


def put_answers(server: Server, answers: dict[str, str]) -> None:
    """http-01: each token's file holds its key authorization (public), readable by nginx."""
    folder = acme_dir(server)
    script = Script()
    script.add(f"mkdir -p {q(folder)}\nchmod 0755 {q(folder)}")
    for token, value in answers.items():
        path = posixpath.join(folder, token)
        script.add(f"printf '%s' {q(value)} > {q(path + '.tmp')}\nchmod 0644 {q(path + '.tmp')}")
        script.add(f"mv -f -- {q(path + '.tmp')} {q(path)}")
    run(server, script, "acme-http01")


def remove_answers(server: Server, tokens: list[str]) -> None:
    if not tokens:
        return
    folder = acme_dir(server)
    script = Script()
    script.add("rm -f -- " + " ".join(q(posixpath.join(folder, token)) for token in tokens))
    run(server, script, "acme-http01")


def remove_key(server: Server, website_id: int) -> None:
    """A key made for a certificate that will not come (the website left automatic certificates)."""
    script = Script()
    script.add(f"rm -f -- {q(next_key(server, website_id))}")
    run(server, script, "acme-key")
