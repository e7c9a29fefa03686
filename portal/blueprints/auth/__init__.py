"""Login, the second factor, step-up and logout."""

from portal.blueprints.auth.views import bp

__all__ = ["bp"]
