"""The sections of a dossier, in order: the one catalog used by routes, the summary, the side menu, the
completeness checks (``dossier_checks``) and the rules' messages (``eligibility``). Pure: no Flask.

Titles are French message ids marked with ``N_`` (extracted by pybabel, translated where shown:
``applicants.sections.SECTION_TITLES``); the French messages of ``domain`` quote them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:  # noqa: N802 -- the usual gettext marker name, a keyword pybabel knows
    """Marks a message for extraction; the translation happens where it is shown."""
    return message


@dataclass(frozen=True)
class Section:
    code: str  # in URLs and form ids: /porteur/dossiers/<id>/<code>
    title: str  # headings, summary, problems' list
    menu_title: str  # the side menu's shorter wording
    template: str


SECTIONS: tuple[Section, ...] = (
    Section("identite", N_("Identité du pôle et structure porteuse"), N_("Identité"),
            "applicants/section_identite.html"),
    Section("membres", N_("Membres du pôle"), N_("Membres"), "applicants/section_membres.html"),
    Section("activites", N_("Activités, coopération et gouvernance"), N_("Activités et coopération"),
            "applicants/section_activites.html"),
    Section("projet", N_("Projet et emplois"), N_("Projet et emplois"), "applicants/section_projet.html"),
    Section("budget", N_("Budget et plan de financement"), N_("Budget et financement"),
            "applicants/section_budget.html"),
    Section("pieces", N_("Pièces justificatives"), N_("Pièces justificatives"), "applicants/attachments.html"),
)
SECTION_CODES: tuple[str, ...] = tuple(section.code for section in SECTIONS)
BY_CODE: dict[str, Section] = {section.code: section for section in SECTIONS}


def quoted_title(code: str) -> str:
    """``« Membres du pôle »``, to name a section inside a French message."""
    return f"« {BY_CODE[code].title} »"
