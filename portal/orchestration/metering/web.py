"""Websites' requests and bytes served, per UTC hour, from each site's own nginx access log.

The nginx backend gives every site `<nginx_usage_log_dir>/<website id>.log` in its `hostdeck_usage`
format: `$msec $bytes_sent $status ...`. The site is the file's, never anything in a line: a request
line can only ever count toward the site that served it, and only as one request. `$msec` is epoch
time, so no timezone is involved.
"""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Server, Website
from portal.models.metering import Metric
from portal.orchestration.backends.nginx import usage_log
from portal.orchestration.metering.base import Collector, Target
from portal.orchestration.metering.held import held
from portal.orchestration.metering.logs import read_logs
from portal.orchestration.placement import accounts_here
from portal.orchestration.script import Script

# One line per site and hour. A line that does not start with the two numbers is not a request
# this format wrote (a torn line after a crash): it counts for nothing.
AWK = r"""
function record(line,   f, n, hour, k) {
  n = split(line, f, " ")
  if (n < 2 || f[1] !~ /^[0-9]+\.[0-9][0-9][0-9]$/ || f[2] !~ /^[0-9]+$/) return
  hour = f[1]; sub(/\..*/, "", hour)
  k = hu_key " " (hour - hour % 3600)
  requests[k]++
  sent[k] += f[2]
}
function resume(kept) {}
function kept() { return "" }
function report(   k, p) {
  for (k in requests) {
    split(k, p, " ")
    printf "hostdeck-usage\tweb\tWebsite\t%s\trequests\t%.0f\t%s\n", p[1], requests[k], p[2]
    printf "hostdeck-usage\tweb\tWebsite\t%s\tbytes_served\t%.0f\t%s\n", p[1], sent[k], p[2]
  }
}
"""


class WebCollector(Collector):
    name = "web"
    backend = "nginx"
    metrics = frozenset({Metric.REQUESTS, Metric.BYTES_SERVED})
    object_types = ("Website",)

    def targets(self, server: Server) -> list[Target]:
        query = sa.select(Website.id, Website.account_id).where(*held(Website, accounts_here(server.id)))
        return [
            Target("Website", id, account_id, usage_log(server, id))
            for id, account_id in db.session.execute(query.order_by(Website.id))
        ]

    def measure(self, script: Script, server: Server, targets: list[Target]) -> None:
        read_logs(script, server, self.name, [(t.object_id, t.key) for t in targets], AWK)


WEB = WebCollector()
