"""Addresses: names on the account's domains that deliver to mailboxes and forward elsewhere."""

from portal.blueprints.addresses.views import bp

__all__ = ["bp"]
