"""Write portal/security/common_passwords.txt: the 10,000 most common passwords, one a line, most common first.

They come from zxcvbn's own ranked "passwords" dictionary (the zxcvbn package pinned in requirements.txt,
a frequency list of leaked passwords), so the list is offline and reproducible: nothing is downloaded.
Run it again after upgrading zxcvbn:

    .venv/bin/python scripts/common_passwords.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

TOP = 10_000
TARGET = Path(__file__).resolve().parents[1] / "portal" / "security" / "common_passwords.txt"


def main() -> int:
    ranked = FREQUENCY_LISTS["passwords"]
    words: list[str] = []
    seen: set[str] = set()
    for word in ranked:
        word = word.strip().lower()
        if word and word not in seen:
            seen.add(word)
            words.append(word)
        if len(words) == TOP:
            break
    TARGET.write_text("\n".join(words) + "\n", encoding="utf-8")
    sys.stdout.write(f"{len(words)} passwords written to {TARGET}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
