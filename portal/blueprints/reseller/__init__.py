"""A reseller's sub-accounts, and the set-password link their owners get."""

from portal.blueprints.reseller.views import bp

__all__ = ["bp"]
