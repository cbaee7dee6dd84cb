"""``flask ptce demo``: demo accounts of every role and one open call (idempotent)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ptce_aap.enums import CallStatus, Role
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.services import accounts, calls

DEMO_PASSWORD = "Demo-ptce-2026!"  # noqa: S105 (demo accounts only, printed by the command)

DEMO_ACCOUNTS = [
    # email, name, roles, institution (name, short)
    ("admin@demo.ptce.fr", "Camille Martin (secrétariat)", (Role.ADMIN,), None),
    ("rapporteur.ess@demo.ptce.fr", "Nadia Benali", (Role.REVIEWER,),
     ("Ministère de l'Économie — Direction générale du Trésor, mission ESS", "ESS")),
    ("rapporteur.anct@demo.ptce.fr", "Louis Garnier", (Role.REVIEWER,),
     ("Agence nationale de la cohésion des territoires", "ANCT")),
    ("rapporteur.cdc@demo.ptce.fr", "Élise Roux", (Role.REVIEWER,), ("Caisse des Dépôts — Banque des Territoires", "CDC")),
    ("porteur1@demo.ptce.fr", "Julie Perrin", (Role.APPLICANT,), None),
    ("porteur2@demo.ptce.fr", "Marc Lefèvre", (Role.APPLICANT,), None),
]


@click.command("demo")
@with_appcontext
def demo_command():
    """Create demo data (idempotent): accounts of every role and one open call."""
    created = []
    for email, name, roles, institution in DEMO_ACCOUNTS:
        if accounts.find_user_by_email(email) is None:
            inst = accounts.get_or_create_institution(*institution) if institution else None
            accounts.create_user(email, DEMO_PASSWORD, full_name=name, roles=roles, institution=inst,
                                 verified=True, check_password=False)
            created.append(email)
    slug = "ptce-2027"
    if db.session.scalar(sa.select(Call).where(Call.slug == slug)) is None:
        now = utcnow().replace(microsecond=0)
        admin = db.session.scalar(sa.select(User).where(User.email == DEMO_ACCOUNTS[0][0]))
        calls.create_call(
            slug=slug,
            title="Appel à projets PTCE 2027",
            description_md=(
                "L'appel à projets soutient les **pôles territoriaux de coopération économique** "
                "(article 9 de la loi n° 2014-856 relative à l'économie sociale et solidaire).\n\n"
                "Il finance la **cellule d'animation** des pôles pour deux ans. Une priorité est donnée aux "
                "territoires ruraux et aux quartiers prioritaires de la politique de la ville."),
            opens_at=now - timedelta(days=10), closes_at=now + timedelta(days=45),
            envelope_eur=Decimal("1500000"), max_amount_eur=Decimal("100000"),
            status=CallStatus.OPEN, awarding_body_name="Ministère de l'Économie, des Finances et de la "
            "Souveraineté industrielle et numérique", awarding_body_siret="11000201100044",
            review_deadline_at=now + timedelta(days=90), by=admin,
            categories=[{"code": "emergence", "label": "Émergence", "max_amount_eur": Decimal("50000")},
                        {"code": "developpement", "label": "Développement",
                         "max_amount_eur": Decimal("100000")}],
        )
    db.session.commit()
    click.echo("Données de démonstration prêtes." + (f" Comptes créés : {len(created)}." if created else ""))
    click.echo(f"Mot de passe de tous les comptes de démonstration : {DEMO_PASSWORD}")
    for email, _name, roles, institution in DEMO_ACCOUNTS:
        label = ", ".join(str(r.label) for r in roles)
        click.echo(f"  {email:32} {label}" + (f" ({institution[1]})" if institution else ""))


COMMANDS = [demo_command]
