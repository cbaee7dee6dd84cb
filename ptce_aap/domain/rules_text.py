"""The eligibility rules of a call (SPEC §3) explained to applicants in plain French. Pure: no Flask.

``explain_rules`` reads the call's settings (``{code: {"mode": …, **parameters}}``, missing entries and
parameters taken from the rule catalog, ``eligibility.CATALOG``), skips the rules that are off and returns one sentence
per rule, blocking rules first. Sentences go through ``gettext`` (identity by default; views pass
Flask-Babel's) and amounts/dates through the given formatters, French by default
(``domain.formatting``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ptce_aap.domain.eligibility import RULE_ORDER, rule_settings
from ptce_aap.domain.formatting import format_amount, format_datetime, format_share
from ptce_aap.enums import RuleMode


@dataclass(frozen=True)
class RuleText:
    code: str
    mode: RuleMode
    text: str

    @property
    def is_blocking(self) -> bool:
        return self.mode == RuleMode.BLOCKING


def _identity(message: str) -> str:
    return message


def explain_rules(settings: Mapping[str, Mapping] | None, *, max_amount_eur: Decimal, max_state_share: Decimal,
                  closes_at: datetime, gettext: Callable[[str], str] = _identity,
                  format_amount: Callable[[Decimal], str] = format_amount,
                  format_datetime: Callable[[datetime], str] = format_datetime,
                  locale: str = "fr") -> list[RuleText]:
    """One ``RuleText`` per rule that is not off, blocking ones first, each group in ``RULE_ORDER``."""
    _ = gettext
    explained: list[RuleText] = []
    for code in RULE_ORDER:
        values = rule_settings(settings, code)
        mode = RuleMode(values.get("mode", RuleMode.OFF))
        if mode == RuleMode.OFF:
            continue
        if code == "siret":
            text = _("La structure porteuse doit disposer d’un numéro SIRET valide.")
        elif code == "legal_person":
            text = _("La structure porteuse doit être une personne morale de droit privé (association, "
                     "coopérative, SCIC, SCOP, mutuelle, fondation ou société) ; une collectivité ne peut pas "
                     "porter le pôle.")
        elif code == "min_members":
            minimum = _whole(values.get("minimum"), default=3)
            if minimum <= 1:
                text = _("Le pôle doit compter au moins une personne morale membre.")
            else:
                text = _("Le pôle doit réunir au moins %(minimum)s personnes morales membres.") % {
                    "minimum": minimum}
        elif code == "ess_core":
            text = _("Au moins un membre doit être une entreprise de l’économie sociale et solidaire (au sens "
                     "de l’article 1er de la loi n° 2014-856 du 31 juillet 2014).")
        elif code == "enterprise_partner":
            text = _("Au moins un membre doit être une entreprise hors économie sociale et solidaire.")
        elif code == "territorial_link":
            text = _("Au moins un membre doit être un autre acteur mentionné à l’article 9 de la loi : "
                     "collectivité territoriale ou groupement, centre de recherche ou établissement "
                     "d’enseignement supérieur, organisme de formation ou autre acteur.")
        elif code == "same_territory":
            if values.get("allow_adjacent", True):
                text = _("Chaque membre doit être situé dans l’un des départements couverts par le pôle ou "
                         "dans un département limitrophe.")
            else:
                text = _("Chaque membre doit être situé dans l’un des départements couverts par le pôle.")
        elif code == "not_previously_funded":
            text = _("La structure porteuse ne doit pas avoir été lauréate d’un précédent appel à projets "
                     "PTCE.")
        elif code == "documents" and values.get("require_clean_scan"):
            text = _("Toutes les pièces obligatoires doivent être jointes au dossier et reconnues saines par "
                     "l’analyse antivirus.")
        elif code == "documents":
            text = _("Toutes les pièces obligatoires doivent être jointes au dossier ; une pièce que l’antivirus "
                     "n’a pas analysée est acceptée et signalée comme non analysée.")
        elif code == "budget_balanced":
            text = _("Le plan de financement doit être équilibré : le total des ressources doit être égal au "
                     "total des dépenses, à l’euro près.")
        elif code == "state_share":
            text = _("Le montant demandé à l’État ne doit pas dépasser %(cap)s, ni %(share)s du budget total "
                     "du projet.") % {"cap": format_amount(max_amount_eur),
                                      "share": format_share(max_state_share, locale)}
        else:  # deadline
            text = _("Le dossier doit être déposé avant le %(deadline)s ; après cette date, le dépôt n’est "
                     "plus possible.") % {"deadline": format_datetime(closes_at)}
        explained.append(RuleText(code=code, mode=mode, text=text))
    return sorted(explained, key=lambda rule: not rule.is_blocking)


def _whole(value, *, default: int) -> int:
    """A rule's whole-number setting; ``default`` when missing or not a number (a form typed wrong, shown again
    with its error: the explanation beside it uses the default)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return default
