"""IMAP client helpers: log in like a mail client and read whole messages."""

from __future__ import annotations

import email
import imaplib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message


def login(imap: imaplib.IMAP4, user: str, password: str) -> None:
    """LOGIN, or AUTHENTICATE PLAIN: LOGIN's strings are ASCII only, PLAIN carries UTF-8."""
    if password.isascii() and user.isascii():
        imap.login(user, password)
    else:
        imap.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())


def close(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except (imaplib.IMAP4.error, OSError):
        imap.shutdown()


@contextmanager
def session(host: str, port: int, user: str, password: str) -> Iterator[imaplib.IMAP4]:
    """A logged-in connection, logged out at the end."""
    imap = imaplib.IMAP4(host, port, timeout=10)
    try:
        login(imap, user, password)
        yield imap
    finally:
        close(imap)


def _quote(folder: str) -> str:
    # imaplib sends the name as is; a space or quote would split the command.
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fetch_all(host: str, port: int, user: str, password: str, folder: str = "INBOX") -> list[Message]:
    """Every message of folder, oldest first. EXAMINE (read-only): no \\Seen flags set."""
    with session(host, port, user, password) as imap:
        typ, data = imap.select(_quote(folder), readonly=True)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot select {folder!r}: {data!r}")
        if int(data[0] or 0) == 0:
            return []  # "FETCH 1:*" on an empty folder is an error
        typ, data = imap.fetch("1:*", "(RFC822)")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"FETCH failed: {data!r}")
        # Each message is a (b'N (RFC822 {size}', raw) tuple, followed by b')'.
        return [email.message_from_bytes(part[1]) for part in data if isinstance(part, tuple)]


def wait_for_messages(
    host: str, port: int, user: str, password: str, count: int, timeout: float = 10, folder: str = "INBOX"
) -> list[Message]:
    """Poll fetch_all until folder holds at least count messages.

    Delivery is asynchronous (Postfix queue -> LMTP); before the first one the
    folder may not exist, and a just-written passwd-file may be unseen for ~1 s
    (dovecot.py, trap (a)): IMAP errors are retried until the deadline.
    """
    deadline = time.monotonic() + timeout
    found: list[Message] = []
    error: imaplib.IMAP4.error | None = None
    while True:
        try:
            found, error = fetch_all(host, port, user, password, folder), None
        except imaplib.IMAP4.error as err:
            error = err
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{user} {folder}: {len(found)} of {count} messages after {timeout}s") from error
        time.sleep(0.1)
