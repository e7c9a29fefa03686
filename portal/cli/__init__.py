"""Operator commands: flask users|accounts|domains|dkim|plans|servers|demo|usage|worker|orchestration."""

from flask import Flask

from portal.cli.accounts import accounts, domains, users
from portal.cli.demo import demo
from portal.cli.dkim import dkim
from portal.cli.errors import one_line_errors
from portal.cli.plans import plans
from portal.cli.servers import servers
from portal.cli.usage import usage
from portal.cli.worker import orchestration, worker

commands = [users, accounts, domains, dkim, plans, servers, demo, usage, worker, orchestration]


def init_app(app: Flask) -> None:
    for command in commands:
        # Each error one line on stderr and a non-zero exit (cli/errors.py).
        app.cli.add_command(one_line_errors(command))
