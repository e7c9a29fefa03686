"""authorized_keys lines, read as sshd reads them (sshd(8), AUTHORIZED_KEYS FILE FORMAT).

A key keeps the options its owner gave it: each is checked and written back in one spelling, or
the key is refused with the option named. Nothing is dropped silently, since a key meant to be
restricted must never end up installed without its restriction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

import paramiko

# Flags that sshd accepts, in the spelling we write back (sshd compares names case-insensitively).
FLAGS = {
    name.lower(): name
    for name in (
        "restrict",
        "agent-forwarding",
        "no-agent-forwarding",
        "port-forwarding",
        "no-port-forwarding",
        "pty",
        "no-pty",
        "user-rc",
        "no-user-rc",
        "X11-forwarding",
        "no-X11-forwarding",
        "no-touch-required",
        "verify-required",
    )
}
VALUED = ("command", "from", "expiry-time", "permitopen", "permitlisten")
REPEATABLE = ("permitopen", "permitlisten")
# Refused, with the reason in words.
REFUSED = {
    "cert-authority": "cert-authority is not allowed: a key here is a key, not a certificate authority.",
    "principals": "principals= only works with cert-authority, which is not allowed.",
    "environment": (
        "environment= is not allowed: the servers run sshd with PermitUserEnvironment off, "
        "so the variable would be ignored. Set it in the command or the shell's profile instead."
    ),
    "tunnel": "tunnel= is not allowed: the servers do not offer tun devices.",
}
KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
MAX_VALUE = 1000

HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")
FROM_PATTERN = re.compile(r"^!?[A-Za-z0-9.*?:%_-]+(?:/[0-9]{1,3})?$")
EXPIRY = re.compile(r"^(\d{8})(\d{4}(\d{2})?)?(Z?)$")


class KeyProblem(ValueError):
    """What is wrong with a key line, in words its owner understands."""


@dataclass(frozen=True)
class Option:
    name: str
    value: str | None = None

    def __str__(self) -> str:
        if self.value is None:
            return self.name
        return f'{self.name}="{self.value.replace(chr(34), chr(92) + chr(34))}"'


@dataclass(frozen=True)
class AuthorizedKey:
    options: tuple[Option, ...]
    key_type: str
    blob: str

    @property
    def line(self) -> str:
        """The authorized_keys line as it is written to servers (no comment)."""
        head = ",".join(str(o) for o in self.options)
        return f"{head} {self.key_type} {self.blob}" if head else f"{self.key_type} {self.blob}"

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse_line(line: str) -> AuthorizedKey:
    """One authorized_keys line (options, key type, base64, comment) -> the key; KeyProblem if bad."""
    line = line.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in line):
        raise KeyProblem("Control characters are not allowed in a key.")
    options: tuple[Option, ...] = ()
    if line and line.split(None, 1)[0] not in KEY_TYPES:
        end = _options_end(line)
        options = parse_options(line[:end])
        line = line[end:].lstrip(" \t")
    fields = line.split(None, 2)
    if len(fields) < 2 or fields[0] not in KEY_TYPES:
        raise KeyProblem("Not an OpenSSH public key: it should start with its type, such as ssh-ed25519.")
    key_type, blob = fields[0], fields[1]
    try:
        key = paramiko.PKey.from_type_string(key_type, base64.b64decode(blob, validate=True))
    except (binascii.Error, paramiko.SSHException, ValueError) as exc:
        raise KeyProblem(f"Not an OpenSSH public key: its {key_type} part does not decode.") from exc
    return AuthorizedKey(options, key.get_name(), key.get_base64())


def _options_end(line: str) -> int:
    """Where the options end: the first blank outside double quotes (sshd's own rule)."""
    quoted, i = False, 0
    while i < len(line) and (quoted or line[i] not in " \t"):
        if line[i] == "\\" and line[i + 1 : i + 2] == '"':
            i += 1
        elif line[i] == '"':
            quoted = not quoted
        i += 1
    if quoted:
        raise KeyProblem("A quoted option value is not closed.")
    return i


def parse_options(text: str) -> tuple[Option, ...]:
    """'restrict,from="10.0.0.0/8",command="backup --now"' -> options, each checked."""
    found: list[Option] = []
    i = 0
    while i < len(text):
        match = re.match(r"[A-Za-z0-9-]+", text[i:])
        if match is None:
            raise KeyProblem(f"Could not read the key's options at {text[i : i + 20]!r}.")
        name, i = match.group().lower(), i + match.end()
        value: str | None = None
        if text[i : i + 1] == "=":
            if name in FLAGS:
                raise KeyProblem(f"{FLAGS[name]} takes no value.")
            value, i = _dequote(text, i + 1, name)
        found.append(_checked(name, value))
        if i < len(text):
            if text[i] != ",":
                raise KeyProblem(f"Separate the key's options with commas (after {name}).")
            i += 1
            if i == len(text):
                raise KeyProblem("The key's options end with a comma.")
    for name in ("command", "from", "expiry-time"):
        if sum(o.name == name for o in found) > 1:
            raise KeyProblem(f"{name}= may appear only once in a key's options.")
    return tuple(found)


def _dequote(text: str, i: int, name: str) -> tuple[str, int]:
    r"""A double-quoted value starting at i, as sshd reads it: \" is a quote, nothing else is special."""
    if text[i : i + 1] != '"':
        raise KeyProblem(f'Put the value of {name}= in double quotes: {name}="...".')
    i += 1
    chars: list[str] = []
    while i < len(text) and text[i] != '"':
        if text[i] == "\\" and text[i + 1 : i + 2] == '"':
            i += 1
        chars.append(text[i])
        i += 1
    if i >= len(text):
        raise KeyProblem(f"The value of {name}= is not closed with a double quote.")
    return "".join(chars), i + 1


def _checked(name: str, value: str | None) -> Option:
    if name in REFUSED:
        raise KeyProblem(REFUSED[name])
    if name in FLAGS:
        if value is not None:
            raise KeyProblem(f"{FLAGS[name]} takes no value.")
        return Option(FLAGS[name])
    if name not in VALUED:
        raise KeyProblem(f"{name} is not an SSH key option Hostdeck knows, so the key was not accepted.")
    if value is None:
        raise KeyProblem(f'{name} needs a value: {name}="...".')
    if len(value) > MAX_VALUE:
        raise KeyProblem(f"The value of {name}= is too long (at most {MAX_VALUE} characters).")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise KeyProblem(f"The value of {name}= has control characters.")
    if value.endswith("\\"):
        raise KeyProblem(f"The value of {name}= cannot end with a backslash.")
    problem = {
        "command": _command_problem,
        "from": _from_problem,
        "expiry-time": _expiry_problem,
        "permitopen": _permitopen_problem,
        "permitlisten": _permitlisten_problem,
    }[name](value)
    if problem:
        raise KeyProblem(problem)
    return Option(name, value)


def _command_problem(value: str) -> str | None:
    return None if value.strip() else 'command= needs the command to run: command="...".'


def _from_problem(value: str) -> str | None:
    for pattern in value.split(","):
        if not FROM_PATTERN.match(pattern):
            return f"from=: {pattern!r} is not a host name, address or pattern (such as 10.0.0.0/8 or *.example.com)."
        if "/" in pattern:
            try:
                ipaddress.ip_network(pattern.lstrip("!"))
            except ValueError:
                return f"from=: {pattern!r} is not a network such as 192.0.2.0/24 (no host bits after the mask)."
    return None


def _expiry_problem(value: str) -> str | None:
    match = EXPIRY.match(value)
    if match:
        digits = (match.group(1) + (match.group(2) or "")).ljust(14, "0")
        try:
            datetime.strptime(digits, "%Y%m%d%H%M%S")  # a check of the date only
        except ValueError:
            pass
        else:
            return None
    return "expiry-time= takes a date such as 20301231 or 203012312359Z."


def _port_ok(port: str) -> bool:
    return port == "*" or (port.isdigit() and 1 <= int(port) <= 65535)


def _host_ok(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    return bool(HOST.match(host))


def _host_port(value: str) -> tuple[str, str] | None:
    host, sep, port = value.rpartition(":")
    return (host, port) if sep else None


def _permitopen_problem(value: str) -> str | None:
    pair = _host_port(value)
    if pair is None or not _host_ok(pair[0]) or not _port_ok(pair[1]):
        return f'permitopen= takes host:port, such as permitopen="localhost:5432"; {value!r} is not.'
    return None


def _permitlisten_problem(value: str) -> str | None:
    pair = _host_port(value) or ("", value)
    host, port = pair
    if (host and host != "*" and not _host_ok(host)) or not _port_ok(port):
        return f'permitlisten= takes [host:]port, such as permitlisten="localhost:8080"; {value!r} is not.'
    return None
