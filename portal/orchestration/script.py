"""Script builder: the one quoting helper, and redaction of secrets.

Every value that reaches a shell goes through `q()`. Scripts travel on stdin
(`bash -s`), so nothing here ever lands in a process's argv.
"""

from __future__ import annotations

import shlex

REDACTED = "'[redacted]'"
# How a server runs a script sent on stdin. `bash -s` would read stdin a byte at
# a time (~10 ms per 30 KB); `cat` takes it in one go.
RUNNER = """bash -c 'eval "$(cat)"'"""
# Backends add temporary files to hostdeck_cleanup; one EXIT trap removes them all.
HEADER = (
    "set -euo pipefail\nexport LC_ALL=C\numask 077\n"
    "hostdeck_cleanup=()\ntrap 'rm -f -- \"${hostdeck_cleanup[@]}\"' EXIT\n"
)


class UnsafeValue(ValueError):
    pass


def q(value: object) -> str:
    """Quote one value as a single literal shell word."""
    text = str(value)
    if "\x00" in text:
        raise UnsafeValue("a NUL byte cannot reach a shell")
    return shlex.quote(text)


def words(*values: object) -> str:
    return " ".join(q(v) for v in values)


class Script:
    def __init__(self) -> None:
        self._parts: list[str] = []
        self._secrets: list[str] = []

    def add(self, fragment: str) -> None:
        """Append trusted script text; interpolated values must already be q()-quoted."""
        self._parts.append(fragment.rstrip("\n") + "\n")

    def secret(self, value: str) -> str:
        """Quote a secret and remember it, so that redacted() can hide it."""
        self._secrets.append(value)
        return q(value)

    @property
    def text(self) -> str:
        # One function, parsed whole before it runs: a syntax error anywhere stops the
        # script before its first line does anything.
        return HEADER + "hostdeck_main() {\n" + "".join(self._parts) + ":\n}\nhostdeck_main\n"

    def redacted(self) -> str:
        text = self.text
        # Longest first, so a secret that contains another is hidden whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(q(secret), REDACTED).replace(secret, "[redacted]")
        return text

    def redact(self, output: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            output = output.replace(secret, "[redacted]")
        return output
