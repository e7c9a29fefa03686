"""Operator commands: flask users|accounts|domains|plans|servers|demo|worker|orchestration."""

from portal.cli.accounts import accounts, domains, users
from portal.cli.demo import demo
from portal.cli.plans import plans
from portal.cli.servers import servers
from portal.cli.worker import orchestration, worker

commands = [users, accounts, domains, plans, servers, demo, worker, orchestration]
