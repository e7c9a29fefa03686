"""Staff and resellers acting as a customer, on record."""

from portal.blueprints.impersonation.views import bp

__all__ = ["bp"]
