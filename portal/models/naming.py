"""Names as people read them. Domains are stored and sent as A-labels (xn--bcher-kva.example); a person
reads bücher.example. Everything that names an object to a person (flashes, refusals, the activity page,
the audit trail, the staff console) asks named(), or in_unicode() for a name it only has as text."""

from __future__ import annotations

from portal.models.validators import address_in_unicode


def in_unicode(text: str) -> str:
    """A domain or an e-mail address as people write it; any other text as it is (only a name with a
    valid xn-- part changes). Safe on names stored before they were kept for people."""
    return address_in_unicode(text)


def named(obj: object) -> str:
    """The one name of an object for people: its `display` form where it has one (a mailbox, an address),
    else its str(), with any domain in it in Unicode. Empty for no object."""
    if obj is None:
        return ""
    display = getattr(obj, "display", None)
    return in_unicode(display if isinstance(display, str) else str(obj))
