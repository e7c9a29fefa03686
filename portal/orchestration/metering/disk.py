"""System users and web apps: the disk each one's folder uses, from one `du` over them all.

du gets every web app's folder first, then every home, and counts each file once across its
arguments: an app's files go to the app, and a home's figure is what du found in it besides plus
its apps'. du follows no symlink (not even one given as an argument), so a link in a user's folder
measures only itself. Its NUL-ended output is matched against the paths the portal passed, never
read as names: a path du prints that the portal did not list counts for nothing.
"""

from __future__ import annotations

import posixpath

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Server, SystemUser, WebApp
from portal.models.metering import Metric
from portal.orchestration.backends.phpfpm import app_dir
from portal.orchestration.backends.unix import UnixBackend
from portal.orchestration.metering.base import PREFIX, Collector, Target
from portal.orchestration.metering.held import held, routed_here
from portal.orchestration.placement import accounts_here
from portal.orchestration.script import Script, UnsafeValue, q

# The list: <kind> <id> <id of the home's user, for an app> <path>, a tab between.
FRAGMENT = """\
hu_disk=$(mktemp); hu_du=$(mktemp); hostdeck_cleanup+=("$hu_disk" "$hu_du")
printf '%s\\t%s\\t%s\\t%s\\n' {listed} > "$hu_disk"
hu_paths=()
for hu_path in {paths}; do
  if [ -e "$hu_path" ] || [ -L "$hu_path" ]; then hu_paths+=("$hu_path"); fi
done
if [ ${{#hu_paths[@]}} -gt 0 ]; then du -0 -s -B1 -- "${{hu_paths[@]}}" > "$hu_du" || true; fi
tr '\\n\\0' '?\\n' < "$hu_du" | awk -v prefix={prefix} {program} "$hu_disk" -
"""
PROGRAM = r"""
FNR == NR {
  split($0, f, "\t"); kind[f[4]] = f[1]; id[f[4]] = f[2]; owner[f[4]] = f[3]; order[++n] = f[4]
  next
}
{
  tab = index($0, "\t")
  path = substr($0, tab + 1)
  if (tab > 1 && (path in id)) bytes[path] = substr($0, 1, tab - 1) + 0
}
END {
  for (i = 1; i <= n; i++) { p = order[i]; if (kind[p] == "SystemUser") home[id[p]] = p }
  for (i = 1; i <= n; i++) {
    p = order[i]
    if (kind[p] == "WebApp" && (owner[p] in home)) bytes[home[owner[p]]] += bytes[p]
  }
  for (i = 1; i <= n; i++) {
    p = order[i]
    printf "%s\tdisk\t%s\t%s\tdisk_bytes\t%.0f\n", prefix, kind[p], id[p], bytes[p] + 0
  }
}
"""
UNIX = UnixBackend()


def _plain(path: str) -> bool:
    """A path du can print on one line and awk can split from its size."""
    return path.isprintable() and "\t" not in path and posixpath.isabs(path)


class DiskCollector(Collector):
    name = "disk"
    backend = "unix"
    metrics = frozenset({Metric.DISK_BYTES})
    object_types = ("SystemUser", "WebApp")

    def targets(self, server: Server) -> list[Target]:
        """One query: each user with its apps (where PHP-FPM's backend makes their folders here). The
        apps come first in the list: du counts a file toward the first argument it is found under."""
        here = accounts_here(server.id)
        users, apps = held(SystemUser, here), held(WebApp, here)
        if not routed_here("phpfpm", server):
            apps = [sa.false()]
        query = (
            sa.select(SystemUser.id, SystemUser.account_id, SystemUser.name, WebApp.id, WebApp.account_id, WebApp.name)
            .outerjoin(WebApp, sa.and_(WebApp.system_user_id == SystemUser.id, *apps))
            .where(*users)
            .order_by(SystemUser.id, WebApp.id)
        )
        homes: dict[int, Target] = {}
        folders: list[Target] = []
        for user_id, account_id, user_name, app_id, app_account_id, app_name in db.session.execute(query):
            try:
                if user_id not in homes:
                    homes[user_id] = Target("SystemUser", user_id, account_id, UNIX.home(server, user_name))
                if app_id is not None:
                    folder = app_dir(server, {"user": user_name, "name": app_name})
                    folders.append(Target("WebApp", app_id, app_account_id, folder, owner=user_id))
            except UnsafeValue:  # a name the backends refuse is on no server
                continue
        return [t for t in folders + list(homes.values()) if _plain(t.key)]

    def measure(self, script: Script, server: Server, targets: list[Target]) -> None:
        if not targets:
            return
        # An app's folder lies in its user's home: its bytes count in that home too.
        listed = [" ".join(q(v) for v in (t.object_type, t.object_id, t.owner or "", t.key)) for t in targets]
        script.add(
            FRAGMENT.format(
                listed=" ".join(listed),
                paths=" ".join(q(t.key) for t in targets),
                prefix=q(PREFIX),
                program=q(PROGRAM),
            )
        )


DISK = DiskCollector()
