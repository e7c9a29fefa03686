"""The `hostdeck` command (pyproject [project.scripts]): the portal's flask commands from any directory.

It finds the app by itself, so no FLASK_APP and no working directory in the repository are needed:
`hostdeck db upgrade`, `hostdeck servers list`, `hostdeck worker`.
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from portal import create_app

# Settings come from the environment only (never a stray .env in the working directory).
main = FlaskGroup(
    name="hostdeck", create_app=create_app, load_dotenv=False, help="Hostdeck's commands (the same as `flask ...`)."
)
