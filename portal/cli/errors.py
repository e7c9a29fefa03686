"""Every command's error is one line on stderr and a non-zero exit, never a traceback.

An expected error (a refusal, a bad value, the database refusing a duplicate) says what is wrong in
one line. Anything else is a bug: one line that says so, and the traceback goes to the log, where the
portal's logging sends it (stderr by default), so it stays visible."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.services import ServiceError


def _flat(message: str) -> str:
    return " ".join(message.split())


class OneLine(click.ClickException):
    """Shown as "Error: <message>", on one line whatever the message was; exit code 1."""

    def __init__(self, message: str) -> None:
        super().__init__(_flat(message))


class UsageLine(click.UsageError):
    """A usage error without its context: click then prints neither the usage nor the hint, only
    "Error: <message>"; exit code 2, as for any usage error."""

    def __init__(self, message: str) -> None:
        super().__init__(_flat(message), ctx=None)


@contextmanager
def one_line(ctx: click.Context) -> Iterator[None]:
    """Any error inside, as a OneLine (the session rolled back)."""
    try:
        yield
    except (click.exceptions.Exit, click.Abort, click.exceptions.NoArgsIsHelpError, OneLine, UsageLine):
        raise
    except click.UsageError as exc:  # click would print the usage and a hint: 3 lines
        raise UsageLine(exc.format_message()) from exc
    except click.ClickException as exc:
        if "\n" not in exc.format_message():
            raise  # one line already, with the command's own exit code (2: a refused --set)
        raise OneLine(exc.format_message()) from exc
    except ServiceError as exc:
        db.session.rollback()
        raise OneLine(exc.message) from exc
    except IntegrityError as exc:
        db.session.rollback()
        # The driver's words, with PostgreSQL's DETAIL (which key), not the statement SQLAlchemy adds.
        raise OneLine(f"the database refused the change: {exc.orig or exc}") from exc
    except ValueError as exc:
        db.session.rollback()
        raise OneLine(str(exc)) from exc
    except Exception as exc:
        db.session.rollback()
        path = " ".join(filter(None, (ctx.command_path, ctx.invoked_subcommand)))  # a group's: the command it ran
        current_app.logger.exception("%s failed", path)
        raise OneLine(f"unexpected error ({type(exc).__name__}: {exc}); the traceback is in the log") from exc


class Commands(AppGroup):
    """A command group whose commands' errors come out as one line each."""

    def invoke(self, ctx: click.Context) -> Any:
        with one_line(ctx):
            return super().invoke(ctx)


def one_line_errors(command: click.Command) -> click.Command:
    """A group again with its commands, name and help, with one-line errors; a lone command with its
    callback guarded the same way."""
    if isinstance(command, click.Group):
        return Commands(command.name, commands=command.commands, help=command.help, short_help=command.short_help)
    callback = command.callback
    if callback is not None:

        @wraps(callback)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            with one_line(click.get_current_context()):
                return callback(*args, **kwargs)

        command.callback = guarded
    return command
