"""Every collector, in the order their fragments run in a round's script."""

from __future__ import annotations

from portal.orchestration.metering.base import Collector

# Filled in by the collector modules' entries below (one per backend that measures something).
COLLECTORS: tuple[Collector, ...] = ()
