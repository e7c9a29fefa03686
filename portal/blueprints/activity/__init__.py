"""The account's activity: its audit events in plain words."""

from portal.blueprints.activity.views import bp

__all__ = ["bp"]
