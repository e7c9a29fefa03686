"""Passwords people can live with: the weak and the common are refused, with the reason in plain words.

Every new password goes through `weakness()`: the portal login (the account page, the set-password link,
the `flask users`/`flask accounts` commands) and the service passwords (mailboxes, system users,
database users). A password is refused, in this order, when it is:

- shorter than 10 or longer than 128 characters (the forms' Length rule says the same);
- one of the 10,000 most common passwords, whatever its case. The list is `common_passwords.txt`
  beside this module: the top of zxcvbn's own ranked "passwords" dictionary (leaked passwords, most
  common first), written by `scripts/common_passwords.py` and shipped with the code, so nothing is
  ever downloaded;
- one that contains a name from the account: the user's e-mail local part, the account's name, the
  mailbox's or user's name (each word of 4 or more characters, and the name's words run together);
- scored below 3 (of 4) by zxcvbn, with those names as its user inputs. Its warning and suggestions
  are said in our words (translated); one we have no words for gives a plain generic reason.

The pages' strength meter (static/js/password.js) is only a hint while typing: this is the authority.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from zxcvbn import zxcvbn

from portal.models import Account, User
from portal.security.scoping import Actor
from portal.words import gettext, lazy_gettext

MIN_LENGTH, MAX_LENGTH = 10, 128
MIN_SCORE = 3  # zxcvbn's 0-4: 3 is "safely unguessable", some 10^8 guesses and more
MIN_NAME = 4  # shorter words of a name ("web", "jo") do not refuse a password on their own
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
NOT_A_WORD = re.compile(r"[\W_]+")

# zxcvbn's feedback (English, from zxcvbn/feedback.py) in our words, through the catalogs.
WARNINGS = {
    "Straight rows of keys are easy to guess.": lazy_gettext("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.": lazy_gettext("Short keyboard patterns are easy to guess."),
    'Repeats like "aaa" are easy to guess.': lazy_gettext('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': lazy_gettext(
        'Repeats like "abcabcabc" are only slightly harder to guess than "abc".'
    ),
    'Sequences like "abc" or "6543" are easy to guess.': lazy_gettext(
        'Sequences like "abc" or "6543" are easy to guess.'
    ),
    "Recent years are easy to guess.": lazy_gettext("Recent years are easy to guess."),
    "Dates are often easy to guess.": lazy_gettext("Dates are often easy to guess."),
    "This is a top-10 common password.": lazy_gettext("This password is one of the most common ones."),
    "This is a top-100 common password.": lazy_gettext("This password is one of the most common ones."),
    "This is a very common password.": lazy_gettext("This password is one of the most common ones."),
    "This is similar to a commonly used password.": lazy_gettext("This password is very like a common one."),
    "A word by itself is easy to guess.": lazy_gettext("A word by itself is easy to guess."),
    "Names and surnames by themselves are easy to guess.": lazy_gettext(
        "Names and surnames by themselves are easy to guess."
    ),
    "Common names and surnames are easy to guess.": lazy_gettext("Common names and surnames are easy to guess."),
}
SUGGESTIONS = {
    "Use a few words, avoid common phrases.": lazy_gettext("Use a few words, avoid common phrases."),
    "No need for symbols, digits, or uppercase letters.": lazy_gettext(
        "No need for symbols, digits, or uppercase letters."
    ),
    "Add another word or two. Uncommon words are better.": lazy_gettext(
        "Add another word or two. Uncommon words are better."
    ),
    "Use a longer keyboard pattern with more turns.": lazy_gettext("Use a longer keyboard pattern with more turns."),
    "Avoid repeated words and characters.": lazy_gettext("Avoid repeated words and characters."),
    "Avoid sequences.": lazy_gettext("Avoid sequences."),
    "Avoid recent years.": lazy_gettext("Avoid recent years."),
    "Avoid years that are associated with you.": lazy_gettext("Avoid years that are associated with you."),
    "Avoid dates and years that are associated with you.": lazy_gettext(
        "Avoid dates and years that are associated with you."
    ),
    "Capitalization doesn't help very much.": lazy_gettext("Capital letters do not help much."),
    "All-uppercase is almost as easy to guess as all-lowercase.": lazy_gettext(
        "All capitals are almost as easy to guess as no capitals."
    ),
    "Reversed words aren't much harder to guess.": lazy_gettext("Words spelt backwards are not much harder to guess."),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": lazy_gettext(
        "Swaps everyone knows, like @ for a, do not help much."
    ),
}


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords, lower case."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip())


def name_words(names: Iterable[str | None]) -> list[str]:
    """The words of each name a password must not contain (lower case, MIN_NAME characters or more):
    "Flower Shop" gives flower, shop and flowershop; "anna.maria" gives anna, maria and annamaria."""
    words: list[str] = []
    for name in names:
        parts = [part for part in NOT_A_WORD.split((name or "").casefold()) if part]
        for word in [*parts, "".join(parts)]:
            if len(word) >= MIN_NAME and word not in words:
                words.append(word)
    return words


def user_names(user: User, *accounts: Account | None) -> list[str]:
    """The names a password of this login's must not contain: its e-mail local part, and the names of its
    account and of the accounts given (the sub-account a reseller acts inside)."""
    names = [user.email.partition("@")[0]]
    names += [account.name for account in (user.account, *accounts) if account is not None]
    return names


def actor_names(actor: Actor) -> list[str]:
    """user_names() of the actor's login, with the account it acts for (never the staff member's)."""
    return user_names(actor.user, actor.account)


def weakness(password: str, names: Iterable[str | None] = ()) -> str | None:
    """Why this password will not do, in plain words; None when it will. `names` are the account's names
    (actor_names(), the mailbox's or user's own name)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return str(gettext("Use 10 to 128 characters."))
    lowered = password.casefold()
    if lowered in common_passwords():
        return str(gettext("This password is one of the most common ones."))
    words = name_words(names)
    found = [word for word in words if word in lowered]
    if found:
        name = max(found, key=len)
        return str(
            gettext('This password contains "%(name)s", a name from this account: it is easy to guess.', name=name)
        )
    result = zxcvbn(password, user_inputs=[name for name in names if name] + words, max_length=MAX_LENGTH)
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    warning = WARNINGS.get(feedback["warning"])
    reasons = [str(warning) if warning is not None else gettext("This password is too easy to guess.")]
    for suggestion in feedback["suggestions"]:
        words_for_it = SUGGESTIONS.get(suggestion)
        if words_for_it is not None and str(words_for_it) not in reasons:
            reasons.append(str(words_for_it))
    return " ".join(reasons)
