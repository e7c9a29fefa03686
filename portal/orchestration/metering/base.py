"""The shape of a collector: which objects, one fragment, reading its lines back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from portal.models import Server
from portal.models.metering import Measured, Metric
from portal.orchestration.script import Script

PREFIX = "hostdeck-usage"
BIGGEST = 2**63 - 1  # the value columns are BigInteger
# <collector> <object type> <object id> <metric> <value> [<at>: UTC epoch seconds]
LINE = re.compile(r"^hostdeck-usage\t([a-z_]+)\t([A-Za-z]+)\t(\d{1,10})\t([a-z_]+)\t(\d{1,19})(?:\t(\d{1,12}))?$")


@dataclass(frozen=True)
class Target:
    """One object a server holds: `key` is what the fragment needs to find it (a path, a name)."""

    object_type: str
    object_id: int
    account_id: int
    key: str
    # The object whose figure takes this one's in too (a web app's system user), if any.
    owner: int | None = None


@dataclass(frozen=True)
class Line:
    object_type: str
    object_id: int
    metric: str
    value: int
    at: str | None


class Collector:
    name: str = ""
    # The route a server needs for this collector to run there.
    backend: str = ""
    metrics: frozenset[Metric] = frozenset()
    # The kinds it measures: their readings on a server that no longer lists them are dropped.
    object_types: tuple[str, ...] = ()

    def targets(self, server: Server) -> list[Target]:
        """The objects of this collector on this server (one query, no per-object loads)."""
        raise NotImplementedError

    def measure(self, script: Script, server: Server, targets: list[Target]) -> None:
        """Add the fragment: it prints LINEs on stdout, nothing else there; every value through q()."""
        raise NotImplementedError

    def at(self, server: Server, field: str | None, now: datetime) -> datetime:
        """The UTC time a line stands for: its epoch field, else the round's time."""
        return datetime.fromtimestamp(int(field), UTC) if field else now

    def read(self, server: Server, lines: list[Line], targets: list[Target], now: datetime) -> list[Measured]:
        """This collector's lines as values, only for objects it asked about and metrics it has."""
        known = {(t.object_type, t.object_id): t.account_id for t in targets}
        found = []
        for line in lines:
            account_id = known.get((line.object_type, line.object_id))
            if account_id is None or line.metric not in self.metrics:
                continue
            found.append(
                Measured(
                    line.object_type,
                    line.object_id,
                    account_id,
                    Metric(line.metric),
                    line.value,
                    self.at(server, line.at, now),
                )
            )
        return found


def parse(stdout: str) -> dict[str, list[Line]]:
    """The round's output by collector; lines that do not match exactly are ignored. Lines end at
    "\n" alone: str.splitlines() also breaks at \v, \f, \x1c-\x1e, \x85 and \u2028, which a name
    printed on the server could hold, and a line forged after one would count."""
    found: dict[str, list[Line]] = {}
    for text in stdout.split("\n"):
        match = LINE.fullmatch(text)
        if match:
            name, object_type, object_id, metric, value, at = match.groups()
            if int(value) > BIGGEST:  # past what a value column holds: no real use, a broken line
                continue
            found.setdefault(name, []).append(Line(object_type, int(object_id), metric, int(value), at))
    return found
