"""Websites: domains served by nginx, with web apps on paths."""

from portal.blueprints.websites.views import bp

__all__ = ["bp"]
