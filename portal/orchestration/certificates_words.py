"""Why an automatic certificate waits, or what failed: Certificate.reason_code and reason_args, worded when
read, in the reader's language (names in Unicode). The CA's or the server's own words stay in
Certificate.detail, for staff."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from portal.models import Certificate, CertState
from portal.models.validators import unicode_name
from portal.words import gettext


class CertCode(StrEnum):
    WAITING = "waiting"  # nothing looked at yet
    OFF = "off"  # ACME_DIRECTORY is empty: this Hostdeck orders no certificates
    NO_SERVER = "no_server"  # no web server serves the website
    NO_ADDRESS = "no_address"  # the web server's public_addresses setting is empty
    NOT_HERE = "not_here"  # {"name", "found": [addresses]}: the name points elsewhere (or nowhere)
    DNS_ERROR = "dns_error"  # {"name"}: no answer from DNS
    RATE_ORDERS = "rate_orders"  # {"domain"}: the CA's weekly limit of new orders for the domain
    RATE_FAILURES = "rate_failures"  # {"name"}: the CA's hourly limit of failed validations for a name
    VALIDATION = "validation"  # {"names"}: the CA could not check the names
    CA_ERROR = "ca_error"  # the CA refused or did not answer
    NO_DNS = "no_dns"  # a wildcard name, and the domain's DNS is not at Hostdeck
    SERVER_ERROR = "server_error"  # the web server did not make the key or the answers
    ISSUED = "issued"


def _names(args: dict[str, Any], key: str = "names") -> str:
    return ", ".join(unicode_name(str(n)) for n in args.get(key, []))


def certificate_words(cert: Certificate) -> str:
    """The certificate's state for its customer; empty when there is nothing to say."""
    text = describe(cert.reason_code, cert.reason_args or {})
    if cert.state == CertState.FAILED:
        gave_up = gettext("Hostdeck has stopped trying; support has been told.")
        return f"{text} {gave_up}".strip()
    return text


def describe(code: str, args: dict[str, Any]) -> str:
    name = unicode_name(str(args.get("name", "")))
    match code:
        case CertCode.WAITING:
            return gettext("Waiting for its first certificate.")
        case CertCode.OFF:
            return gettext("Automatic certificates are not set up on this Hostdeck.")
        case CertCode.NO_SERVER:
            return gettext("No web server serves this website yet.")
        case CertCode.NO_ADDRESS:
            return gettext("The web server's public addresses are not set up yet; support has been told.")
        case CertCode.NOT_HERE:
            found = ", ".join(str(a) for a in args.get("found", []))
            if not found:
                return gettext(
                    "%(name)s does not point at this server yet (it has no address). Hostdeck orders the "
                    "certificate once it does.",
                    name=name,
                )
            return gettext(
                "%(name)s points at %(found)s, not at this server. Hostdeck orders the certificate once it "
                "points here.",
                name=name,
                found=found,
            )
        case CertCode.DNS_ERROR:
            return gettext("The DNS servers did not answer for %(name)s; Hostdeck will look again later.", name=name)
        case CertCode.RATE_ORDERS:
            return gettext(
                "The certificate authority's weekly limit for %(domain)s is reached; Hostdeck orders again "
                "once it allows.",
                domain=unicode_name(str(args.get("domain", ""))),
            )
        case CertCode.RATE_FAILURES:
            return gettext(
                "Too many failed checks of %(name)s in the last hour; Hostdeck tries again later.", name=name
            )
        case CertCode.VALIDATION:
            return gettext("The certificate authority could not reach %(names)s on this server.", names=_names(args))
        case CertCode.CA_ERROR:
            return gettext("The certificate authority did not issue the certificate.")
        case CertCode.NO_DNS:
            return gettext("A certificate for every subdomain (*.) needs the domain's DNS at Hostdeck.")
        case CertCode.SERVER_ERROR:
            return gettext("The web server could not prepare the certificate.")
        case CertCode.ISSUED:
            return ""
    return ""
