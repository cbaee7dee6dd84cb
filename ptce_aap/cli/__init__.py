"""``flask --app wsgi ptce …`` commands: one module per family, gathered in the ``ptce`` group.

- ``jobs``: dispatch, tick, worker;
- ``accounts``: create-admin, create-token;
- ``demo``: demo;
- ``bench_data``: bench-data (volume for ``bench/``).

A command calls services and commits; a ``DomainError`` it lets through is turned into a message and exit
status 1 by the group (``PtceGroup``), the one place that does so for the CLI (``web.domain_error_response``
does it for requests).
"""

from __future__ import annotations

import click
from flask import has_app_context
from flask.cli import AppGroup

from ptce_aap.cli import accounts, bench_data, demo, jobs
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db


class PtceGroup(AppGroup):
    """Runs a command; a ``DomainError`` rolls back and becomes ``Error: <message>`` (exit status 1)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            if has_app_context():
                db.session.rollback()
            raise click.ClickException(exc.message) from exc


ptce = PtceGroup("ptce", help="Commandes de la plateforme PTCE.")
for _command in (*jobs.COMMANDS, *accounts.COMMANDS, *demo.COMMANDS, *bench_data.COMMANDS):
    ptce.add_command(_command)


def init_app(app) -> None:
    app.cli.add_command(ptce)
