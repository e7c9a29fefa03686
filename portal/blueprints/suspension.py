"""What the suspend and resume pages share (a reseller's sub-accounts, the staff console): what stops or
starts again, kind by kind, before the button (_macros/suspension.html), and the flash after it."""

from __future__ import annotations

from portal.models import Account, Kind
from portal.services.resellers import remaining_services
from portal.words import lazy_gettext, ngettext

# What stops, kind by kind, when an account is suspended (models/kinds.py: the kinds that suspend).
STOPS = {
    "Mailbox": lazy_gettext("their mail logins stop"),
    "DatabaseUser": lazy_gettext("their database logins stop, and so do the apps that use them"),
    "SystemUser": lazy_gettext("their SFTP and SSH logins stop"),
    "Website": lazy_gettext("they show a page that says the website is suspended"),
}


def following(account: Account, suspending: bool = True) -> list[tuple[Kind, int, str]]:
    """The kinds that suspend with the account, each with how many it has and (suspending) what stops."""
    return [
        (kind, n, STOPS.get(kind.name, "") if suspending else "")
        for kind, n in remaining_services(account)
        if kind.suspends and n
    ]


def done(account: Account, suspended: bool, count: int) -> str:
    """The flash once it is done: the account's state, and how many services are being re-applied."""
    if suspended:
        return ngettext(
            "%(name)s is suspended; %(num)d service is being updated.",
            "%(name)s is suspended; %(num)d services are being updated.",
            count,
            name=account.name,
        )
    return ngettext(
        "%(name)s is active again; %(num)d service is being updated.",
        "%(name)s is active again; %(num)d services are being updated.",
        count,
        name=account.name,
    )
