"""The first page after login."""

from portal.blueprints.dashboard.views import bp

__all__ = ["bp"]
