"""A user's own login: password, e-mail, timezone and two-factor login."""

from portal.blueprints.account.views import bp

__all__ = ["bp"]
