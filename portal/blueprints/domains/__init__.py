"""The account's domain names."""

from portal.blueprints.domains.views import bp

__all__ = ["bp"]
