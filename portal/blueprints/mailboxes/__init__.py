"""Mailboxes: create, re-password, vacation reply, delete."""

from portal.blueprints.mailboxes.views import bp

__all__ = ["bp"]
