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
        return ("Use only letters a-z, digits, dots, hyphens and underscores, "
                "starting and ending with a letter or digit.")
    return None
