"""Mail received and sent per domain, per hour, from the Postfix log (the server's `postfix_log`).

- MAIL_RECEIVED: each delivery with `status=sent` by a local delivery agent (lmtp, virtual, local,
  pipe) to a recipient on the domain. Relaying with smtp is not a delivery here: the server that
  holds the mailbox counts it.
- MAIL_SENT: each message an authenticated client submitted (smtpd's `sasl_username=`) with a login
  on the domain. Mail a local program hands to sendmail names no login and counts for no domain.

Only the domains the portal puts into the script count, each under its id. A line is read by position,
field by field as Postfix writes it, and an address only in its strict form (an unquoted local part, a
domain of a-z, 0-9, `.` and `-`): a quoted local part or a remote server's reply text (which comes after
the fields) can never name another domain.

Times: a syslog timestamp ("Oct 25 02:30:00") has no zone and no year. awk keeps the local hour and a
fold marker (`MMDDHHF`, 7 digits): in the hour a DST change repeats, the lines whose local time goes
back belong to the second pass (F=1). `read()` reads the key in the server's `timezone`, takes the year
from the round's time and converts to UTC. An RFC 3339 timestamp with its offset (rsyslog's high
precision format) is converted on the server already: its key is the UTC hour in epoch seconds.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, Domain, Server
from portal.models.metering import Measured, Metric
from portal.orchestration.metering.base import Collector, Line, Target
from portal.orchestration.metering.held import held
from portal.orchestration.metering.logs import read_logs
from portal.orchestration.placement import accounts_here
from portal.orchestration.proof import proven
from portal.orchestration.script import Script, q

LOG_KEY = 1  # the one log's key in the state file
# A round reads what was written since the last one began: a first-pass hour that ended before then (by
# more than a line's lateness in syslog and the clocks' difference) cannot be, it is the second pass.
SLACK = timedelta(minutes=2)
RECENT = timedelta(hours=3)

AWK = r"""
FILENAME != "-" { if (NF == 2) domain[$2] = $1; next }
BEGIN {
  split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", hu_m, " ")
  for (i = 1; i <= 12; i++) month[hu_m[i]] = i
  local = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+"
}
function days(y, m, d,   era, yoe, doy) {
  y -= (m <= 2)
  era = int((y >= 0 ? y : y - 399) / 400)
  yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
}
# 2026-10-25T02:30:00.123456+02:00 (or Z): the UTC hour, in epoch seconds.
function rfc3339(ts,   zone, off, e) {
  if (ts !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?(Z|[+-][0-9][0-9]:[0-9][0-9])$/) return ""
  zone = substr(ts, length(ts) - 5)
  off = 0
  if (zone ~ /^[+-]/) off = (substr(zone, 2, 2) * 60 + substr(zone, 5, 2)) * 60 * (substr(zone, 1, 1) == "-" ? -1 : 1)
  e = days(substr(ts, 1, 4) + 0, substr(ts, 6, 2) + 0, substr(ts, 9, 2) + 0) * 86400
  e += substr(ts, 12, 2) * 3600 + substr(ts, 15, 2) * 60 + substr(ts, 18, 2) - off
  return sprintf("%.0f", e - e % 3600)
}
# Oct 25 02:30:00[.123456], local: MMDDHH and the fold marker. A step back of more than two minutes
# (and less than two hours: more is a new year) starts the repeated hour's second pass. The latest
# time seen and the pass are kept for the next round (resume, kept), which may start inside it.
function syslog(mon, day, time,   t, hour) {
  if (day !~ /^[0-9][0-9]?$/ || time !~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?$/) return ""
  hour = (month[mon] * 100 + day) * 100 + substr(time, 1, 2)
  t = ((month[mon] * 32 + day) * 24 + substr(time, 1, 2)) * 3600 + substr(time, 4, 2) * 60 + substr(time, 7, 2)
  if (t < latest - 120) {
    if (latest - t > 7200) { latest = t; again = 0 } else { again = 1; again_hour = hour }
  }
  if (t > latest) latest = t
  if (again && again_hour != hour) again = 0
  return sprintf("%06d%d", hour, again)
}
function resume(kept,   r) {
  if (split(kept, r, " ") == 3) { latest = r[1] + 0; again = r[2] + 0; again_hour = r[3] + 0 }
}
function kept() { return sprintf(" %.0f %d %.0f", latest, again, again_hour) }
function address(text,   at) {
  text = tolower(text)
  at = index(text, "@")
  return substr(text, at + 1)
}
function count(name, metric, key) {
  if (name in domain) seen[domain[name] " " metric " " key]++
}
# orig_to=<local@domain>, where a quoted local part ("...", with \" and \\ inside) may hold anything:
# what follows it, or "" when it is not one.
function past_orig_to(s,   i, c) {
  i = 10
  if (substr(s, i, 1) == "\"") {
    for (i++; i <= length(s); i++) {
      c = substr(s, i, 1)
      if (c == "\\") i++
      else if (c == "\"") break
    }
    if (i > length(s)) return ""
    i++
  }
  s = substr(s, i)
  if (!match(s, /^[^ "<>]*>, /)) return ""
  return substr(s, RLENGTH + 1)
}
# QUEUEID: to=<a@b>, [orig_to=<...>,] relay=..., [conn_use=N,] delay=..., delays=..., dsn=2.x.x, status=sent (...)
function received(line, f, i, key,   at, rest, g) {
  if (f[i] !~ /^[0-9A-Za-z]+:$/ || f[i + 1] !~ ("^to=<" local ">,$")) return
  at = index(line, " " f[i] " " f[i + 1] " ")
  if (at == 0) return
  rest = substr(line, at + length(f[i]) + length(f[i + 1]) + 3)
  if (substr(rest, 1, 9) == "orig_to=<") rest = past_orig_to(rest)
  split(rest, g, " ")
  at = 1
  if (g[at] !~ /^relay=[^ ]*,$/) return
  at++
  if (g[at] ~ /^conn_use=[0-9]+,$/) at++
  if (g[at] !~ /^delay=[0-9.]+,$/ || g[at + 1] !~ /^delays=[0-9.\/]+,$/ || g[at + 2] !~ /^dsn=2\.[0-9.]+,$/) return
  if (g[at + 3] != "status=sent") return
  count(address(substr(f[i + 1], 5, length(f[i + 1]) - 6)), "mail_received", key)
}
# QUEUEID: client=name[addr]:port, [sasl_method=X,] sasl_username=a@b[, sasl_sender=...]
function submitted(f, n, i, key,   j, login) {
  if (f[i] !~ /^[0-9A-Za-z]+:$/ || f[i + 1] !~ /^client=[^ ]*,$/) return
  j = i + 2
  if (f[j] ~ /^sasl_method=[A-Za-z0-9_-]*,$/) j++
  login = f[j]
  if (j < n) { if (login !~ /,$/) return; login = substr(login, 1, length(login) - 1) }
  if (login !~ ("^sasl_username=" local "$")) return
  count(address(substr(login, 15)), "mail_sent", key)
}
function record(line,   f, n, b, key) {
  n = split(line, f, " ")
  if (f[1] in month) { key = syslog(f[1], f[2], f[3]); b = 5 }
  else { key = rfc3339(f[1]); b = 3 }
  if (key == "" || n < b + 2) return
  if (f[b] ~ /^postfix[a-z0-9_.-]*\/(lmtp|virtual|local|pipe)\[[0-9]+\]:$/) received(line, f, b + 1, key)
  else if (f[b] ~ /^postfix[a-z0-9_.-]*(\/[a-z0-9_.-]+)?\/smtpd\[[0-9]+\]:$/) submitted(f, n, b + 1, key)
}
function report(   k, p) {
  for (k in seen) {
    split(k, p, " ")
    printf "hostdeck-usage\tmail_log\tDomain\t%s\t%s\t%.0f\t%s\n", p[1], p[2], seen[k], p[3]
  }
}
"""


@functools.cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_hour(key: str, zone: zoneinfo.ZoneInfo, now: datetime, previous: datetime | None) -> datetime | None:
    """The UTC start of the local hour `MMDDHHF` names: the year the one that is not in the future
    (a day's slack for clocks), the fold the awk marked, or the second pass when the first cannot be
    (it would end before the previous round began: those lines were read then)."""
    month, day, hour, fold = int(key[0:2]), int(key[2:4]), int(key[4:6]), int(key[6])
    today = now.astimezone(zone).replace(tzinfo=None)
    for year in (today.year + 1, today.year, today.year - 1):
        try:
            naive = datetime(year, month, day, hour)
        except ValueError:
            continue
        if naive <= today + timedelta(days=1):
            break
    else:
        return None
    first, second = (naive.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    # (Only a round soon after: one that reads old history, for a collector new on the server, has
    # both passes in its lines and the awk's marker.)
    if fold == 0 and first != second and previous is not None and first + timedelta(hours=1) <= previous - SLACK:
        fold = int(previous - first < RECENT)
    return second if fold else first


class MailLogCollector(Collector):
    name = "mail_log"
    backend = "postfix"
    metrics = frozenset({Metric.MAIL_RECEIVED, Metric.MAIL_SENT})
    object_types = ("Domain",)

    def targets(self, server: Server) -> list[Target]:
        query = sa.select(Domain).where(*held(Domain, accounts_here(server.id))).order_by(Domain.id)
        found = [d for d in db.session.scalars(query) if proven(d)]
        names = Counter(d.name for d in found)
        # A name two accounts claim (reserved names in the demo and tests) counts for neither.
        return [Target("Domain", d.id, d.account_id, d.name) for d in found if names[d.name] == 1]

    def measure(self, script: Script, server: Server, targets: list[Target]) -> None:
        log = str(server.setting("postfix_log", "/var/log/mail.log"))
        listed = "".join(f"{t.object_id} {t.key}\n" for t in targets)
        values = f"<(printf '%s' {q(listed)})"
        read_logs(script, server, self.name, [(LOG_KEY, log)], AWK, values)

    def read(self, server: Server, lines: list[Line], targets: list[Target], now: datetime) -> list[Measured]:
        """Local hours become UTC ones. Where this round's lines hold both passes of a repeated hour,
        the awk's marker tells them apart; where they hold only one, the last round that read says
        which it is."""
        zone = _zone(str(server.setting("timezone", "UTC")))
        both = {line.at[:6] for line in lines if line.at and len(line.at) == 7 and line.at[6] == "1"}
        previous = last_read(server.id, now) if any(line.at and len(line.at) == 7 for line in lines) else None
        utc = []
        for line in lines:
            if line.at and len(line.at) == 7:
                hour = local_hour(line.at, zone, now, None if line.at[:6] in both else previous) or now
                line = replace(line, at=str(int(hour.timestamp())))
            utc.append(line)
        return super().read(server, utc, targets, now)


def last_read(server_id: int, now: datetime) -> datetime | None:
    """When the last round before this one that read the server's logs began (its script exited 0: a
    failed or busy round reads nothing, and keeps the place in every log)."""
    return db.session.scalar(
        sa.select(sa.func.max(BackendLog.started_at)).where(
            BackendLog.server_id == server_id,
            BackendLog.backends.startswith("usage:"),
            BackendLog.exit_code == 0,
            BackendLog.started_at < now,
        )
    )


MAIL_LOG = MailLogCollector()
