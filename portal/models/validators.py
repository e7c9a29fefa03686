"""Syntax rules for names that reach servers. Shared by forms and services."""

from __future__ import annotations

import re

# Letters, digits and . _ - ; starts and ends with a letter or digit; no "..".
LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
LOCAL_PART_MAX = 64


def local_part_problem(value: str) -> str | None:
    """None when valid, else what is wrong, in words a customer understands."""
    if not value:
        return "Enter the part before the @."
    if len(value) > LOCAL_PART_MAX:
        return f"Use at most {LOCAL_PART_MAX} characters."
    if not value.isascii() or not LOCAL_PART.match(value) or ".." in value:
        return (
            "Use only letters a-z, digits, dots, hyphens and underscores, starting and ending with a letter or digit."
        )
    return None


def control_problem(value: str) -> str | None:
    """Control characters (newlines, escapes, NUL...) never reach a server."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "Control characters such as line breaks are not allowed."
    return None


# One DNS label: letters, digits and inner hyphens, at most 63 characters.
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def domain_to_ascii(name: str) -> str:
    """Lowercase IDNA form of a domain name, or ValueError saying what is wrong."""
    problem = control_problem(name)
    if problem:
        raise ValueError(problem)
    try:
        ascii_name = name.strip().rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(f"{name!r} is not a valid domain name") from exc
    if len(ascii_name) > 253:
        raise ValueError("A domain name has at most 253 characters.")
    labels = ascii_name.split(".")
    if len(labels) < 2 or not all(LABEL.match(label) for label in labels):
        raise ValueError(f"{name!r} is not a valid domain name")
    return ascii_name
