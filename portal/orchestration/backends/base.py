"""The shape every backend has: prepare, one fragment per change, commit.

`ref` names the operation behind a fragment. A backend that must refuse one
change but can apply the rest prints `hostdeck-refused <ref> <reason>` on
stdout and carries on; the job fails just that change.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from portal.models import Server
from portal.models.server_settings import setting_values
from portal.models.status import Provisioned
from portal.orchestration.backends.needs import NEEDS, Prerequisite
from portal.orchestration.script import Script, q

# The model (or a union of the models) a backend applies.
ObjT = TypeVar("ObjT", bound=Provisioned)


class Backend(Generic[ObjT]):
    name: str = ""
    # The kinds it applies (models/kinds.py names).
    handles: tuple[str, ...] = ()
    # The service's name for customers, where they choose it (a database engine); else empty.
    service: str = ""

    def prerequisites(self, server: Server) -> list[Prerequisite]:
        """What its scripts use on this server (needs.py), paths and names from the server's settings."""
        values = setting_values(server.settings)
        quoted = {name: q(value) for name, value in values.items()}
        return [
            Prerequisite(str(need.what) % values, need.test.format_map(quoted))
            for need in NEEDS.get(self.name, ())
            if not need.when or values[need.when]
        ]

    def wants(self, obj: ObjT) -> bool:
        """Does this backend run this object? (A PostgreSQL database is not MariaDB's.)"""
        return True

    def verifier(self, server: Server, plaintext: str) -> str | None:
        """The password as this service stores it; None for a service without passwords."""
        return None

    def payload(self, obj: ObjT, server: Server) -> dict[str, Any]:
        """What delete() needs once the object itself is gone. Never a secret."""
        return {}

    def prepare(self, script: Script, server: Server) -> None:
        pass

    def save(self, script: Script, server: Server, obj: ObjT, secret: str | None, ref: int = 0) -> None:
        raise NotImplementedError

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        raise NotImplementedError

    def commit(self, script: Script, server: Server) -> None:
        """Runs once per script: the place for reloads."""

    def report(self, server: Server, stdout: str, objects: dict[tuple[str, int], Provisioned]) -> None:
        """After a script that ran to its end: take what this backend's fragments printed on stdout
        (a public key made on the server, a DS record), in the job's transaction."""
