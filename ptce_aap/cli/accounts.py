"""``flask ptce create-admin`` and ``flask ptce create-token``. A ``DomainError`` (a weak password…) is printed by the ``ptce`` group."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ptce_aap.enums import ApiScope, Role
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.services import accounts, api_tokens


@click.command("create-admin")
@click.argument("email")
@click.option("--password", help="Mot de passe (demandé s'il est omis).")
@with_appcontext
def create_admin_command(email: str, password: str | None):
    """Create an administrator account, or give the admin role to an existing account."""
    user = accounts.find_user_by_email(email)
    if user is not None:
        if not user.is_email_verified:
            # Whoever registered the address chose its password: never make that person an administrator.
            if password is None:
                raise DomainError(f"Le compte {user.email} n'a pas confirmé son adresse : la personne qui l'a créé "
                                  "n'est peut-être pas son titulaire. Relancez la commande avec --password pour "
                                  "remplacer son mot de passe avant de lui donner le rôle administrateur.")
            accounts.replace_unverified_credentials(user, password)
        accounts.grant_role(user, Role.ADMIN, by=None)
        db.session.commit()
        click.echo(f"Le compte {user.email} est désormais administrateur.")
        return
    if password is None:
        password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    user = accounts.create_user(email, password, full_name="Administrateur", roles=(Role.ADMIN,), verified=True)
    db.session.commit()
    click.echo(f"Administrateur créé : {user.email}")


@click.command("create-token")
@click.argument("email")
@click.option("--days", type=click.IntRange(1, api_tokens.MAX_DAYS), default=api_tokens.DEFAULT_DAYS,
              show_default=True, help="Durée de validité du jeton, en jours.")
@click.option("--label", default="", help="Nom du jeton (à quoi il sert).")
@click.option("--scope", "scopes", multiple=True, type=click.Choice([s.value for s in ApiScope]),
              help="Droit donné au jeton, à répéter pour en donner plusieurs (tous par défaut) : calls:read (appels), "
                   "dossiers:read (dossiers, avis, notes et pièces), decisions:read (décisions).")
@with_appcontext
def create_token_command(email: str, days: int, label: str, scopes: tuple[str, ...]):
    """Create a bearer token of the read-only API for an administrator; the token is the last line printed."""
    user = accounts.find_user_by_email(email)
    if user is None:
        raise DomainError(f"Aucun compte n'a l'adresse {email}.")
    token, raw = api_tokens.create(user, days=days, label=label, scopes=scopes or None, by=None)
    db.session.commit()
    click.echo(f"Jeton d'API créé pour {user.email}, valable jusqu'au {token.expires_at:%Y-%m-%d %H:%M} UTC, "
               f"droits : {', '.join(token.scopes)}. Conservez-le : il ne sera plus affiché.")
    click.echo(raw)


COMMANDS = [create_admin_command, create_token_command]
