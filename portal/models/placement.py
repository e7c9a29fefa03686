"""Which servers an account's services live on, among the servers routed to each backend."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, Timestamped


class Placement(Timestamped, Base):
    """An account placed on a server: its objects go to the servers it is placed on that run their
    backend, not to every routed server. A sub-account without placements of its own follows its
    reseller's; an account with none at all (nor its reseller) goes to every routed server."""

    __tablename__ = "placement"
    __table_args__ = (sa.UniqueConstraint("account_id", "server_id", name="uq_placement_account_server"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    server_id: Mapped[int] = mapped_column(sa.ForeignKey("server.id"), index=True)
