"""Defaults of a new call: scoring grid (SPEC §4), document types, eligibility settings (SPEC §3)."""

from __future__ import annotations

from ptce_aap.domain.eligibility import default_settings

DEFAULT_GRID = [
    {"code": "cooperation", "label": "Qualité de la coopération et de la mutualisation", "weight": 25,
     "guidance": "Formes de coopération pratiquées, profondeur, stratégie commune."},
    {"code": "ancrage", "label": "Ancrage territorial et implication des acteurs locaux", "weight": 20,
     "guidance": "Collectivités, habitants, ressources locales."},
    {"code": "innovation", "label": "Innovation sociale ou technologique", "weight": 15, "guidance": ""},
    {"code": "emplois", "label": "Emplois créés ou consolidés, non délocalisables", "weight": 15,
     "guidance": ""},
    {"code": "modele_eco", "label": "Modèle économique et hybridation des ressources", "weight": 15,
     "guidance": "Pérennité de la cellule d'animation."},
    {"code": "gouvernance", "label": "Gouvernance partagée", "weight": 10,
     "guidance": "Démocratique, multi-acteurs."},
]

DEFAULT_DOCUMENT_TYPES = [
    {"code": "statuts", "label": "Statuts de la structure porteuse", "is_required": True},
    {"code": "comptes", "label": "Derniers comptes approuvés", "is_required": True},
    {"code": "budget", "label": "Budget prévisionnel", "is_required": True},
    {"code": "engagements", "label": "Lettres d'engagement des membres", "is_required": True},
    {"code": "soutien_collectivite", "label": "Délibération ou lettre de soutien d'une collectivité",
     "is_required": False},
    {"code": "rib", "label": "RIB de la structure porteuse", "is_required": True},
    {"code": "liste_membres", "label": "Liste des membres signée", "is_required": True},
    {"code": "autre", "label": "Autre document", "is_required": False},
]

# Derived from the rule catalog (``eligibility.CATALOG``); deep-copy it before changing a call's settings.
DEFAULT_ELIGIBILITY = default_settings()
