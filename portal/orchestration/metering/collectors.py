"""Every collector, in the order their fragments run in a round's script."""

from __future__ import annotations

from portal.orchestration.metering.base import Collector
from portal.orchestration.metering.databases import MARIADB_SIZES, POSTGRESQL_SIZES
from portal.orchestration.metering.disk import DISK
from portal.orchestration.metering.mail import MAIL
from portal.orchestration.metering.mail_log import MAIL_LOG
from portal.orchestration.metering.web import WEB

# One per backend that measures something.
COLLECTORS: tuple[Collector, ...] = (
    MAIL,
    DISK,
    MARIADB_SIZES,
    POSTGRESQL_SIZES,
    # Logs, read on from where the last round stopped (metering/logs.py):
    WEB,
    MAIL_LOG,
)
