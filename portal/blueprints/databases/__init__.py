"""Databases and database users."""

from portal.blueprints.databases.views import bp

__all__ = ["bp"]
