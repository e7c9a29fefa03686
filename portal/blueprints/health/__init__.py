"""Health, readiness and metrics for the machines that watch the portal (no pages, no login)."""

from portal.blueprints.health.views import bp

__all__ = ["bp"]
