"""A domain's zone: what Hostdeck publishes, the customer's own records, DNSSEC and DMARC reports."""

from portal.blueprints.dns.views import bp

__all__ = ["bp"]
