"""Every collector, in the order their fragments run in a round's script."""

from __future__ import annotations

from portal.orchestration.metering.base import Collector
from portal.orchestration.metering.databases import MARIADB_SIZES, POSTGRESQL_SIZES
from portal.orchestration.metering.disk import DISK
from portal.orchestration.metering.mail import MAIL

# One per backend that measures something (the nginx and Postfix logs' collectors join them).
COLLECTORS: tuple[Collector, ...] = (MAIL, DISK, MARIADB_SIZES, POSTGRESQL_SIZES)
