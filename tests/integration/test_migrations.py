"""The committed migrations build exactly the schema the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db
from portal.models.base import Base


def test_the_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        differences = compare_metadata(context, Base.metadata)
    # pg_trgm's GIN indexes exist only in the migrations (PostgreSQL only): not a drift.
    drift = [d for d in differences if not (d[0] == "remove_index" and d[1].name.endswith("_trgm"))]
    assert drift == []
