"""System users: the unix accounts a customer's files belong to, reached over SFTP."""

from __future__ import annotations

import re

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Status, SystemUser
from portal.models.ssh_keys import AuthorizedKey, KeyProblem, parse_line
from portal.security.scoping import Actor, get_scoped_or_404
from portal.security.strength import actor_names
from portal.services import ServiceError, record, refuse_weak_password, to_change, to_delete
from portal.services.limits import reserve
from portal.services.text import plain_text
from portal.words import gettext

BASE_NAME = re.compile(r"^[a-z][a-z0-9]{0,15}$")
RESERVED = {
    "root",
    "admin",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www",
    "wwwdata",
    "backup",
    "list",
    "irc",
    "nobody",
    "postfix",
    "dovecot",
    "dovenull",
    "vmail",
    "sshd",
    "mysql",
    "postgres",
    "redis",
    "nginx",
    "ftp",
    "systemd",
    "messagebus",
    "hostdeck",
}
MAX_KEYS = 20


def clean_keys(text: str) -> str:
    """authorized_keys lines with their options checked and kept; a key with a bad option is refused."""
    keys: list[str] = []
    text = plain_text(text or "", "ssh_keys", multiline=True)  # splitlines() would break at U+2028 too
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(keys) >= MAX_KEYS:
            raise ServiceError(gettext("At most %(num)d keys.", num=MAX_KEYS), field="ssh_keys")
        try:
            key = parse_line(line)
        except KeyProblem as exc:
            raise ServiceError(
                gettext("Key on line %(line)d: %(problem)s", line=number, problem=str(exc)), field="ssh_keys"
            ) from exc
        keys.append(key.line)  # comments dropped: they would reach a file
    return "\n".join(keys)


def keys_of(user: SystemUser) -> list[AuthorizedKey]:
    """The user's keys as stored (each line was checked when saved)."""
    return [parse_line(line) for line in (user.ssh_keys or "").splitlines() if line.strip()]


def _shell(actor: Actor, account: Account, shell: str) -> str:
    if shell not in ("sftp", "bash"):
        raise ServiceError(gettext("Choose SFTP only or a login shell."), field="shell")
    if shell == "bash" and not account.allow_login_shell:
        raise ServiceError(gettext("Your plan allows SFTP only."), field="shell")
    return shell


def create_system_user(
    actor: Actor, *, name: str, password: str, shell: str = "sftp", ssh_keys: str = ""
) -> SystemUser:
    account = actor.account
    if account is None:
        raise ServiceError(gettext("System users belong to a customer account."))
    base = plain_text(name, "name").strip().lower()
    if not BASE_NAME.match(base):
        raise ServiceError(gettext("Use 1 to 16 letters a-z and digits, starting with a letter."), field="name")
    if base in RESERVED:
        raise ServiceError(gettext("%(name)s is reserved; choose another name.", name=base), field="name")
    full = f"{account.assigned_prefix()}_{base}"
    owner = db.session.scalar(sa.select(SystemUser.account_id).where(SystemUser.name == full))
    if owner == account.id:
        raise ServiceError(gettext("You already have %(name)s.", name=full), field="name")
    if owner is not None:  # a name from before prefixes were unique: say nothing of whose
        raise ServiceError(gettext("%(name)s is not available; choose another name.", name=full), field="name")
    refuse_weak_password(password, *actor_names(actor), base, full)
    reserve(account.id, "system_users")
    user = SystemUser(
        account_id=account.id,
        name=full,
        shell=_shell(actor, account, shell),
        ssh_keys=clean_keys(ssh_keys),
        status=Status.PENDING,
    )
    db.session.add(user)
    db.session.flush()
    record(user, "save", actor, password)
    return user


def change_system_user_password(actor: Actor, user_id: int, password: str) -> SystemUser:
    user = _live(actor, user_id)
    refuse_weak_password(password, *actor_names(actor), user.name)
    record(user, "save", actor, password)
    return user


def update_system_user(actor: Actor, user_id: int, *, shell: str, ssh_keys: str) -> SystemUser:
    user = _live(actor, user_id)
    user.shell, user.ssh_keys = _shell(actor, user.account, shell), clean_keys(ssh_keys)
    record(user, "save", actor)
    return user


def delete_system_user(actor: Actor, user_id: int) -> SystemUser:
    return to_delete(get_scoped_or_404(SystemUser, user_id, actor), actor)


def _live(actor: Actor, user_id: int) -> SystemUser:
    return to_change(SystemUser, user_id, actor, gettext("This system user is being deleted."))
