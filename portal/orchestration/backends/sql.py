"""What the MariaDB and PostgreSQL backends share: one engine each, one client run per change.

Each change pipes its statements (verifier included) from the printf builtin into the engine's
own client: nothing in argv. A change the engine refuses is reported with
`hostdeck-refused <ref> <the engine's last line>` and the others go on; the database's size
comes back as `hostdeck-size <ref> <bytes>`.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Database, DatabaseUser, Engine, Server, Status
from portal.orchestration.backends.base import Backend
from portal.orchestration.backends.needs import Prerequisite
from portal.orchestration.script import Script, UnsafeValue, q
from portal.words import gettext

NAME = re.compile(r"^[a-z0-9_]{1,64}$")

RUN = """\
if ! hs_out=$(printf '%s\\n' {sql} | {client} 2>&1); then
  printf 'hostdeck-refused %s %s\\n' {ref} "$(printf '%s\\n' "$hs_out" | grep -v '^[[:space:]]*$' | tail -n 1)"
else
  printf '%s\\n' "$hs_out" | grep '^hostdeck-size [0-9]* [0-9]*$' || true
fi
"""


def name(value: str) -> str:
    """The backends' own check: whatever the portal validated, only plain names reach SQL."""
    if not NAME.match(value or ""):
        raise UnsafeValue(f"{value!r} cannot be a database or user name")
    return value


class SqlBackend(Backend[Database | DatabaseUser]):
    engine: Engine
    handles = ("Database", "DatabaseUser")

    def wants(self, obj: Database | DatabaseUser) -> bool:
        return obj.engine == self.engine

    def client(self, server: Server) -> str:
        raise NotImplementedError

    def prerequisites(self, server: Server) -> list[Prerequisite]:
        """Its needs, then a query through the client as the scripts run it: the admin login works."""
        answers = Prerequisite(
            gettext("%(engine)s answers a query as the admin login", engine=self.service),
            f"printf '%s\\n' 'SELECT 1;' | {self.client(server)}",
        )
        return [*super().prerequisites(server), answers]

    def run(self, script: Script, server: Server, statements: list[str], ref: int) -> None:
        script.add(RUN.format(sql=q("\n".join(statements)), client=self.client(server), ref=q(ref)))

    def payload(self, obj: Database | DatabaseUser, server: Server) -> dict[str, Any]:
        if isinstance(obj, DatabaseUser):
            return {"name": obj.name, "databases": [d.name for d in account_databases(obj, self.engine)]}
        return {"name": obj.name}

    def save(
        self, script: Script, server: Server, obj: Database | DatabaseUser, secret: str | None, ref: int = 0
    ) -> None:
        if isinstance(obj, Database):
            self.run(script, server, self.save_database(server, obj, ref), ref)
        else:
            self.run(script, server, self.save_user(server, obj, secret), ref)
            if secret is not None:
                script.secret(secret)  # so that redacted() hides it inside the statements

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        kind = "user" if "databases" in payload else "database"
        statements = self.delete_user(server, payload) if kind == "user" else self.delete_database(server, payload)
        self.run(script, server, statements, ref)

    def save_database(self, server: Server, db: Database, ref: int) -> list[str]:
        raise NotImplementedError

    def save_user(self, server: Server, user: DatabaseUser, secret: str | None) -> list[str]:
        raise NotImplementedError

    def delete_database(self, server: Server, payload: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def delete_user(self, server: Server, payload: dict[str, Any]) -> list[str]:
        raise NotImplementedError


def account_databases(user: DatabaseUser, engine: Engine) -> list[Database]:
    """Every database of the user's account on this engine: granted ones get grants, the rest revokes."""
    return list(
        db.session.scalars(
            sa.select(Database)
            .where(Database.account_id == user.account_id, Database.engine == engine)
            .order_by(Database.name)
        )
    )


def granted(user: DatabaseUser) -> set[str]:
    return {d.name for d in user.databases if d.status != Status.DELETING}


def active(user: DatabaseUser) -> bool:
    return user.account is None or user.account.active
