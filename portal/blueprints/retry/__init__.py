"""Try again: a customer re-applies their own failed object, whatever its kind."""

from portal.blueprints.retry.views import bp

__all__ = ["bp"]
