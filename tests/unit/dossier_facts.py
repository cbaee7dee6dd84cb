"""A complete dossier as plain objects, for the pure checks of domain/dossier_checks.py (no database).

``dossier(**changes)`` gives a dossier with no problem at all; each test changes one thing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from stdnum import luhn

from ptce_aap.domain.eligibility import CallFacts
from ptce_aap.enums import (
    AttachmentStatus,
    FinancingKind,
    FundingSource,
    FundingStatus,
    GovernanceForm,
    LegalForm,
    MemberCategory,
    MemberRole,
)

TODAY = date(2027, 2, 15)
SIRETS = ["73282932000074", "35600000000048", "55208131766522", "44306184100047", "78467169500087"]
RULES = CallFacts(required_documents=(("statuts", "Statuts"), ("budget", "Budget détaillé")),
                  category_codes=("emergence", "developpement"), max_amount_eur=Decimal("100000"),
                  category_caps={"emergence": Decimal("50000")})


def siret_of(siren: str, nic: str) -> str:
    """A valid SIRET (Luhn key) of establishment ``nic`` (4 digits) of the legal person ``siren`` (8 digits)."""
    siren += luhn.calc_check_digit(siren)
    body = siren + nic
    return body + luhn.calc_check_digit(body)


def member(i: int = 0, **changes) -> SimpleNamespace:
    values = dict(name=f"Structure membre {i + 1}", category=MemberCategory.ESS, role=MemberRole.MEMBER,
                  department="69", siret=SIRETS[(i + 1) % len(SIRETS)], is_legal_person=True, joined_on=None)
    return SimpleNamespace(**{**values, **changes})


def expense(amount: str | None, label: str = "Salaire de la coordinatrice", **changes) -> SimpleNamespace:
    values = dict(kind=FinancingKind.EXPENSE, amount_eur=None if amount is None else Decimal(amount), label=label,
                  funder=None, source=None, status=None)
    return SimpleNamespace(**{**values, **changes})


def resource(amount: str | None, label: str = "Subvention", **changes) -> SimpleNamespace:
    values = dict(kind=FinancingKind.RESOURCE, amount_eur=None if amount is None else Decimal(amount), label=label,
                  funder="Région", source=FundingSource.REGION, status=FundingStatus.SECURED)
    return SimpleNamespace(**{**values, **changes})


def attachment(code: str, status=AttachmentStatus.READY, filename: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(document_type_code=code, status=status, filename=filename or f"{code}.pdf")


def dossier(**changes) -> SimpleNamespace:
    values = dict(
        pole_name="Pôle Coopérations du Val", carrier_legal_name="Association Coopérations du Val",
        carrier_legal_form=LegalForm.ASSOCIATION, address="12 rue de la République", carrier_siret=SIRETS[0],
        commune_insee="69123", commune_name="Lyon", region_code="84", departments=["69", "01"],
        territory_types=["urbain"], cooperation_start_year=2016,
        members=[member(i) for i in range(4)],
        activity_domains=["alimentation"], activity_other=None,
        cooperation={"mutualisation_moyens": "Locaux partagés."},
        governance_form=GovernanceForm.DEDICATED, governance_text="Conseil d'administration collégial.",
        summary="Résumé.", strategy="Stratégie.", innovation="Innovation.", territorial_anchoring="Ancrage.",
        expected_impacts="Impacts.", jobs_existing_fte=Decimal("4.5"), jobs_to_create_fte=Decimal("0"),
        jobs_text=None, rd_partners=None,
        total_budget_eur=Decimal("400000"), amount_requested_eur=Decimal("90000"), category_code="developpement",
        financing_lines=[expense("150000"), expense("30000", "Frais de fonctionnement"),
                         resource("90000", "AAP PTCE", funder="État", source=FundingSource.STATE,
                                  status=FundingStatus.REQUESTED),
                         resource("90000", "Subvention régionale")],
        attachments=[attachment("statuts"), attachment("budget")],
        raw_inputs={},
    )
    return SimpleNamespace(**{**values, **changes})
