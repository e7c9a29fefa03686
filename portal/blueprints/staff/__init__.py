"""The support console: accounts, audit events, backend logs and servers."""

from portal.blueprints.staff import accounts, plans, servers, usage, views  # noqa: F401 (their routes)
from portal.blueprints.staff.blueprint import bp

__all__ = ["bp"]
