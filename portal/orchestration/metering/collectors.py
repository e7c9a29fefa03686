"""Every collector, in the order their fragments run in a round's script."""

from __future__ import annotations

from portal.orchestration.metering.base import Collector
from portal.orchestration.metering.mail_log import MailLogCollector
from portal.orchestration.metering.web import WebCollector

# Filled in by the collector modules' entries below (one per backend that measures something).
COLLECTORS: tuple[Collector, ...] = (
    # Logs, read from where the last round stopped (metering/logs.py):
    WebCollector(),
    MailLogCollector(),
)
