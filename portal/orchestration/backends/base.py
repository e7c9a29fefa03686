"""The shape every backend has: prepare, one fragment per change, commit."""
from __future__ import annotations

from typing import Any

from portal.models import Server
from portal.orchestration.script import Script


class Backend:
    name: str = ""
    handles: tuple[str, ...] = ()

    def verifier(self, server: Server, plaintext: str) -> str:
        raise NotImplementedError(f"{self.name} takes no password")

    def payload(self, obj: Any, server: Server) -> dict:
        """What delete() needs once the object itself is gone. Never a secret."""
        return {}

    def prepare(self, script: Script, server: Server) -> None:
        pass

    def save(self, script: Script, server: Server, obj: Any, secret: str | None) -> None:
        raise NotImplementedError

    def delete(self, script: Script, server: Server, payload: dict) -> None:
        raise NotImplementedError

    def commit(self, script: Script, server: Server) -> None:
        """Runs once per script: the place for reloads."""
