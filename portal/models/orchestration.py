"""The outbox of changes (Operation) and what each apply did (BackendLog)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, Timestamped, UTCDateTime, enum_column
from portal.models.servers import Server


class OpState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    APPLIED = "applied"
    FAILED = "failed"
    # A later change to the same object made this one moot.
    SUPERSEDED = "superseded"


class LogState(enum.StrEnum):
    RECEIVED = "RECEIVED"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"  # exit 0, but stderr was written
    FAILURE = "FAILURE"  # non-zero exit
    ERROR = "ERROR"  # connection, authentication or host key
    TIMEOUT = "TIMEOUT"


class Operation(Timestamped, Base):
    __tablename__ = "operation"
    # With retry_at: whether an older change of the account on the server waits for its retry
    # (jobs.runnable()) is one index probe per pending operation, not a scan of the server's.
    __table_args__ = (sa.Index("ix_operation_server_state_retry", "server_id", "state", "retry_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # also the apply order
    server_id: Mapped[int] = mapped_column(sa.ForeignKey("server.id"))
    backend: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(sa.String(20))  # save | delete
    # What the backend needs to find the object once it is gone (never a secret).
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # The service verifier (a hash, never plaintext) until it has been applied.
    secret: Mapped[str | None] = mapped_column(sa.Text)
    # Whether this operation sets a password: kept after the verifier is wiped, so a
    # retry can tell an older, unapplied password from one a newer change replaced, and
    # the object's page can tell that its newest password was lost (operations.password_lost).
    sets_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    state: Mapped[OpState] = enum_column(OpState, OpState.PENDING)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    real_actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    backend_log_id: Mapped[int | None] = mapped_column(sa.ForeignKey("backend_log.id"), index=True)
    # ERROR and TIMEOUT come back as pending, due again at retry_at. Both are this operation's
    # own: only a script it was in moves them (outcome.retry_later).
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    server: Mapped[Server] = relationship()
    backend_log: Mapped[BackendLog | None] = relationship(back_populates="operations")


class BackendLog(Timestamped, Base):
    __tablename__ = "backend_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(sa.ForeignKey("server.id"), index=True)
    backends: Mapped[str] = mapped_column(sa.String(200), default="")
    state: Mapped[LogState] = enum_column(LogState, LogState.RECEIVED)
    job_id: Mapped[str | None] = mapped_column(sa.String(64))
    exit_code: Mapped[int | None] = mapped_column()
    # The script as sent, with every secret replaced by a marker.
    script: Mapped[str] = mapped_column(sa.Text, default="")
    stdout: Mapped[str] = mapped_column(sa.Text, default="")
    stderr: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who asked for the applied changes: [user id, impersonating user id or None] pairs.
    actors: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    server: Mapped[Server] = relationship()
    operations: Mapped[list[Operation]] = relationship(back_populates="backend_log")

    def __str__(self) -> str:
        return f"#{self.id}"

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
