"""``flask ptce demo``: demo accounts of every role, one open call for applicants, one call in review with
its reviewer pool, assignments, reviews, conflicts and regional avis (``demo_review``), and the past call
« AAP PTCE 2013 (démonstration) » carried through to its notified decisions (``demo_2013``). Idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ptce_aap.cli import demo_2013, demo_review
from ptce_aap.enums import CallStatus, Role
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.services import accounts, calls

DEMO_PASSWORD = "Demo-ptce-2026!"  # noqa: S105 (demo accounts only, printed by the command)

DEMO_ACCOUNTS = [
    # email, name, roles, institution (short name in ``demo_review.INSTITUTIONS``)
    ("admin@demo.ptce.fr", "Camille Martin (secrétariat)", (Role.ADMIN,), None),
    *((email, name, (Role.REVIEWER,), short) for email, name, short, _load, _group in demo_review.REVIEWERS),
    ("porteur1@demo.ptce.fr", "Julie Perrin", (Role.APPLICANT,), None),
    ("porteur2@demo.ptce.fr", "Marc Lefèvre", (Role.APPLICANT,), None),
]


@click.command("demo")
@with_appcontext
def demo_command():
    """Create demo data (idempotent): accounts of every role, one open call, one call in review."""
    created = []
    admin_email, admin_name, admin_roles, _none = DEMO_ACCOUNTS[0]
    admin = accounts.find_user_by_email(admin_email)
    if admin is None:
        admin = accounts.create_user(admin_email, DEMO_PASSWORD, full_name=admin_name, roles=admin_roles,
                                     verified=True, check_password=False)
        created.append(admin_email)
    institutions = demo_review.institutions(admin)
    for email, name, roles, institution in DEMO_ACCOUNTS[1:]:
        if accounts.find_user_by_email(email) is None:
            accounts.create_user(email, DEMO_PASSWORD, full_name=name, roles=roles,
                                 institution=institutions[institution] if institution else None,
                                 verified=True, check_password=False)
            created.append(email)
    slug = "ptce-2027"
    if db.session.scalar(sa.select(Call).where(Call.slug == slug)) is None:
        now = utcnow().replace(microsecond=0)
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
    demo_review.build_review_call(admin, DEMO_PASSWORD)
    demo_2013.build_2013_call(admin, DEMO_PASSWORD, institutions,
                              [(email, name, short) for email, name, short, _load, _group in demo_review.REVIEWERS])
    db.session.commit()
    click.echo("Données de démonstration prêtes." + (f" Comptes créés : {len(created)}." if created else ""))
    click.echo(f"Mot de passe de tous les comptes de démonstration : {DEMO_PASSWORD}")
    for email, _name, roles, institution in DEMO_ACCOUNTS:
        label = ", ".join(str(r.label) for r in roles)
        click.echo(f"  {email:36} {label}" + (f" ({institution})" if institution else ""))
    click.echo(f"Appel en instruction « {demo_review.REVIEW_SLUG} » : dossiers affectés aux rapporteurs, évaluations, "
               "conflits d'intérêts et avis du groupe régional Auvergne-Rhône-Alpes (Louis Garnier, Thomas Girard).")
    click.echo(f"  Porteurs de ses dossiers : porteur1@demo.ptce.fr et pole2 … pole{len(demo_review.POLES)}"
               "@demo.ptce.fr (même mot de passe).")
    click.echo(f"Appel passé « {demo_2013.data.SLUG} » : {len(demo_2013.data.POLES)} dossiers, comité du 9 janvier 2014, "
               "décisions notifiées, résultats publiés (porteurs pole01.2013 … pole29.2013@demo.ptce.fr).")


COMMANDS = [demo_command]
