"""One module per service. A backend turns desired state into idempotent script fragments."""

from __future__ import annotations

from typing import Any

from portal.models.status import Provisioned
from portal.orchestration.backends.base import Backend
from portal.orchestration.backends.bind import BindBackend
from portal.orchestration.backends.dovecot import DovecotBackend
from portal.orchestration.backends.mariadb import MariaDbBackend
from portal.orchestration.backends.nginx import NginxBackend
from portal.orchestration.backends.opendkim import OpenDkimBackend
from portal.orchestration.backends.phpfpm import PhpFpmBackend
from portal.orchestration.backends.postfix import PostfixBackend
from portal.orchestration.backends.postgresql import PostgreSqlBackend
from portal.orchestration.backends.unix import UnixBackend

# In the order their fragments run in one script: users before the apps they own, apps before sites.
# Any: which model a backend gets is decided at run time, by the operation's object_type.
BACKENDS: dict[str, Backend[Any]] = {
    b.name: b
    for b in (
        DovecotBackend(),
        PostfixBackend(),
        OpenDkimBackend(),
        UnixBackend(),
        PhpFpmBackend(),
        NginxBackend(),
        MariaDbBackend(),
        PostgreSqlBackend(),
        BindBackend(),  # last: the zones show what the changes before it made
    )
}


def backends_for(object_type: str, obj: Provisioned | None = None) -> list[Backend[Any]]:
    return [b for b in BACKENDS.values() if object_type in b.handles and (obj is None or b.wants(obj))]


def get_backend(name: str) -> Backend[Any]:
    return BACKENDS[name]
