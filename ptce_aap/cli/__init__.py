"""``flask --app wsgi ptce …`` commands: one module per family, gathered in the ``ptce`` group.

- ``jobs``: dispatch, tick, worker;
- ``accounts``: create-admin;
- ``demo``: demo.
"""

from __future__ import annotations

from flask.cli import AppGroup

from ptce_aap.cli import accounts, demo, jobs

ptce = AppGroup("ptce", help="Commandes de la plateforme PTCE.")
for _command in (*jobs.COMMANDS, *accounts.COMMANDS, *demo.COMMANDS):
    ptce.add_command(_command)


def init_app(app) -> None:
    app.cli.add_command(ptce)
