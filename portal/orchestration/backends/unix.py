"""System users: useradd/usermod, the password via `chpasswd -e` on stdin, SSH keys, homes.

SFTP-only users belong to the server's SFTP group, which sshd chroots to the
home (`Match Group ... ChrootDirectory %h`). Every home, and ~/.ssh with its
authorized_keys, is owned by root and writable by nobody else: a user who could
swap them for symlinks would have root write or chown files of its choosing.
Users write into ~/webapps, which they own.
"""

from __future__ import annotations

import posixpath
from typing import Any

from portal.models import Server, SystemUser
from portal.models.ssh_keys import KeyProblem, parse_line
from portal.orchestration import verifiers
from portal.orchestration.backends.base import Backend
from portal.orchestration.script import Script, UnsafeValue, q

SHELLS = {"sftp": "/usr/sbin/nologin", "bash": "/bin/bash"}

PREPARE = """\
if ! getent group {group} >/dev/null; then groupadd --system {group}; fi
"""

SAVE = """\
if ! id -u {name} >/dev/null 2>&1; then
  useradd --home-dir {home} --no-create-home --shell {shell} --user-group {name}
fi
# A user left from before may have another home: sshd reads the keys from the one in passwd.
usermod --shell {shell} --home {home} {name}
{membership}
install -d -m 0755 -o root -g root {home} {home}/.ssh
install -d -m 0711 -o {name} -g {name} {home}/webapps
printf '%s' {keys} > {home}/.ssh/authorized_keys
chmod 0644 {home}/.ssh/authorized_keys
{password}
{lock}
"""
# Suspended: the password locked and the account expired, which stops key logins too.
LOCK = "usermod --lock --expiredate 1 {name}"
UNLOCK = "usermod --unlock --expiredate '' {name} 2>/dev/null || usermod --expiredate '' {name}"

# The verifier goes through a pipe from the printf builtin: never an argv.
CHPASSWD = "printf '%s:%s\\n' {name} {verifier} | chpasswd -e"

DELETE = """\
if id -u {name} >/dev/null 2>&1; then userdel {name}; fi
rm -rf -- {home}
"""


def _name(value: str) -> str:
    if not value or not all(c.isascii() and (c.isalnum() or c in "_-") for c in value):
        raise UnsafeValue(f"{value!r} cannot be a user name")
    return value


def _key_line(line: str) -> str:
    """Each stored key read again, options included, and written in the one spelling we checked."""
    try:
        return parse_line(line).line
    except KeyProblem as exc:
        raise UnsafeValue(f"SSH key refused: {exc}") from exc


class UnixBackend(Backend[SystemUser]):
    name = "unix"
    handles = ("SystemUser",)

    def verifier(self, server: Server, plaintext: str) -> str:
        return verifiers.crypt_sha512(plaintext)

    def home(self, server: Server, user_name: str) -> str:
        return posixpath.join(server.setting("web_home_root", "/home"), _name(user_name))

    def payload(self, user: SystemUser, server: Server) -> dict[str, Any]:
        return {"name": user.name, "home": self.home(server, user.name)}

    def prepare(self, script: Script, server: Server) -> None:
        script.add(PREPARE.format(group=q(server.setting("sftp_group", "hostdeck-sftp"))))

    def save(self, script: Script, server: Server, user: SystemUser, secret: str | None, ref: int = 0) -> None:
        name, group = q(_name(user.name)), q(server.setting("sftp_group", "hostdeck-sftp"))
        sftp_only = user.shell != "bash"
        membership = (
            f"usermod -a -G {group} {name}"
            if sftp_only
            else f"if id -nG {name} | grep -qw {group}; then gpasswd -d {name} {group} >/dev/null; fi"
        )
        keys = "".join(_key_line(line) + "\n" for line in (user.ssh_keys or "").splitlines() if line.strip())
        password = CHPASSWD.format(name=name, verifier=script.secret(secret)) if secret else ":"
        script.add(
            SAVE.format(
                name=name,
                home=q(self.home(server, user.name)),
                shell=q(SHELLS[user.shell]),
                membership=membership,
                keys=q(keys),
                password=password,
                lock=(UNLOCK if user.account is None or user.account.active else LOCK).format(name=name),
            )
        )

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        root = server.setting("web_home_root", "/home").rstrip("/") + "/"
        home = payload["home"]
        if not home.startswith(root) or ".." in home.split("/") or home.rstrip("/") + "/" == root:
            raise UnsafeValue(f"refusing to remove {home!r} outside {root!r}")
        script.add(DELETE.format(name=q(_name(payload["name"])), home=q(home)))
