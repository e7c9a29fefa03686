"""Is a server ready for its backends? `check_server()` connects as an apply would (the pinned host key,
the same transport), runs one script of tests on stdin, and says what it found, in plain words for
people with the raw output beside it for staff. It changes nothing on the server."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import current_app

from portal.models import Server
from portal.models.server_settings import setting_problem, settings_problems
from portal.orchestration.backends import BACKENDS
from portal.orchestration.backends.needs import Prerequisite
from portal.orchestration.results import ExecTimeout, TransportError
from portal.orchestration.script import Script, UnsafeValue, q
from portal.orchestration.transports import exec_timeout, transport_for
from portal.words import gettext, lazy_gettext

# The services' names for people.
LABELS = {
    "dovecot": "Dovecot",
    "postfix": "Postfix",
    "unix": lazy_gettext("System users"),
    "phpfpm": "PHP-FPM",
    "nginx": "nginx",
    "mariadb": "MariaDB",
    "postgresql": "PostgreSQL",
}
CHECK_TIMEOUT_S = 60
DETAIL_LIMIT = 4000  # characters of a test's output kept
# hc_have CMD...: each command is there, else which one is not.
HAVE = """\
hc_have() { local c; for c in "$@"; do command -v "$c" >/dev/null || { echo "$c: not found"; return 1; }; done; }
"""
# One test: its output and its exit status between markers only this run knows.
TEST = """\
if hc_out=$( ( {test} ) </dev/null 2>&1 ); then hc_rc=0; else hc_rc=$?; fi
printf '%s %s %s\\n' {mark} {n} "$hc_rc"
printf '%s\\n' "${{hc_out:0:{limit}}}"
printf '\\n%s end\\n' {mark}
"""
# The zone the server's clock (and so its logs) uses: systemd's word, else Debian's file, else the link.
TIMEZONE = """\
hc_tz=$(timedatectl show -p Timezone --value 2>/dev/null || :)
if [ -z "$hc_tz" ] && [ -r /etc/timezone ]; then hc_tz=$(head -n 1 /etc/timezone); fi
if [ -z "$hc_tz" ] && [ -L /etc/localtime ]; then hc_tz=$(readlink /etc/localtime); hc_tz=${{hc_tz#*zoneinfo/}}; fi
printf '%s timezone %s\\n' {mark} "$hc_tz"
"""


@dataclass(frozen=True)
class Finding:
    backend: str  # who needs it, in words: "Dovecot", "Connection", "Settings"
    what: str  # what was looked for, in plain words
    ok: bool
    detail: str = ""  # raw output, for staff

    def line(self) -> str:
        answer = gettext("yes") if self.ok else gettext("no")
        detail = " ".join(self.detail.split())
        return f"{self.backend}: {self.what} — {answer}" + (f": {detail}" if detail and not self.ok else "")


def _routed(server: Server) -> list[tuple[str, list[Prerequisite]]]:
    names = {route.backend for route in server.routes}
    return [(str(LABELS.get(n, n)), b.prerequisites(server)) for n, b in BACKENDS.items() if n in names]


def _script(tests: list[Prerequisite], mark: str, zone: bool) -> Script:
    script = Script()
    script.add(HAVE)
    for n, test in enumerate(tests):
        script.add(TEST.format(test=test.test, mark=q(mark), n=n, limit=DETAIL_LIMIT))
    if zone:
        script.add(TIMEZONE.format(mark=q(mark)))
    return script


def _timezone(stdout: str, mark: str) -> str | None:
    found = re.search(rf"^{re.escape(mark)} timezone (\S+)$", stdout, re.M)
    if found is None or setting_problem("timezone", found[1]):
        return None
    return found[1]


def _results(stdout: str, mark: str) -> dict[int, tuple[int, str]]:
    found = re.finditer(rf"^{re.escape(mark)} (\d+) (\d+)\n(.*?)\n{re.escape(mark)} end$", stdout, re.M | re.S)
    return {int(m[1]): (int(m[2]), m[3].strip()) for m in found}


def check_server(server: Server) -> list[Finding]:
    """Its settings' problems, the connection, then each routed backend's prerequisites on the server.
    A server that cannot be reached or trusted gives one finding saying so, and nothing else runs."""
    return inspect_server(server)[0]


def inspect_server(server: Server) -> tuple[list[Finding], str | None]:
    """check_server()'s findings, and the timezone the server's clock uses when its `timezone` setting
    is not set (None when it is, or when the server names no zone the portal knows)."""
    problems = settings_problems(server.settings)
    findings = [Finding(gettext("Settings"), problem, False) for problem in problems]
    try:
        routed = _routed(server)
    except UnsafeValue as exc:  # a value no script may carry (the problems above say which)
        return [*findings, Finding(gettext("Settings"), str(exc), False)], None
    tests = [test for _, needs in routed for test in needs]
    mark = f"hostdeck-check-{secrets.token_hex(8)}"
    if server.transport == "local":
        how = gettext("runs a script on this machine (local transport)")
    else:
        how = gettext(
            "connects to %(user)s@%(host)s:%(port)s with the pinned host key and runs a script",
            user=server.ssh_user,
            host=server.host,
            port=server.port,
        )
    config = current_app.config
    own = (server.settings or {}).get("exec_timeout")
    timeout = (
        CHECK_TIMEOUT_S if own is not None and setting_problem("exec_timeout", own) else exec_timeout(server, config)
    )
    try:
        result = transport_for(server, config, reuse=False).run(
            _script(tests, mark, "timezone" not in (server.settings or {})).text, min(CHECK_TIMEOUT_S, timeout)
        )
    except (TransportError, ExecTimeout) as exc:
        return [*findings, Finding(gettext("Connection"), how, False, str(exc))], None
    findings.append(Finding(gettext("Connection"), how, True))
    done = _results(result.stdout, mark)
    # A test the script never reached (it was killed, say) counts as not there, with what the script said.
    missing = (1, result.stderr.strip() or gettext("the check script stopped before this test"))
    n = 0
    for label, needs in routed:
        for need in needs:
            code, output = done.get(n, missing)
            findings.append(Finding(label, need.what, code == 0, output))
            n += 1
    zone = _timezone(result.stdout, mark) if "timezone" not in (server.settings or {}) else None
    return findings, zone
