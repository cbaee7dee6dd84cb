"""The data of « AAP PTCE 2013 (démonstration) » (``demo_2013``): the poles listed in the annex « Liste des pôles
engagés dans la démarche PTCE » of the Labo de l'ESS's 2014 document (``shared/seeds/003_*.txt``), with the
departments the annex gives them, and the settings of the real 2013 call (SPEC §3: €3 M in all, €72 k to €290 k
each). Names of the member structures, amounts and scores are invented; the regions are today's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from ptce_aap.enums import MemberCategory

SLUG = "ptce-2013"
TITLE = "AAP PTCE 2013 (démonstration)"
DESCRIPTION = (
    "Premier appel à projets interministériel en faveur des **pôles territoriaux de coopération économique** "
    "(2013). Cet appel de démonstration est mené jusqu'à son terme : dépôts, recevabilité, évaluations, comité de "
    "sélection du 9 janvier 2014 et décisions notifiées.\n\n"
    "Les 29 dossiers et leurs décisions sont fictifs, les pôles sont ceux de l'annexe du Labo de l'ESS (2014). "
    "L'appel réel de 2013 avait retenu 23 lauréats sur environ 180 candidatures, 3 M€ au total, de 72 k€ à "
    "290 k€ par pôle.")
OPENS_AT = datetime(2013, 7, 15, 8, 0, tzinfo=UTC)
CLOSES_AT = datetime(2013, 10, 4, 10, 0, tzinfo=UTC)  # 12:00 in Paris
SUBMITTED_FROM = datetime(2013, 9, 2, 9, 0, tzinfo=UTC)
CHECKED_AT = datetime(2013, 10, 10, 9, 0, tzinfo=UTC)
REVIEW_DEADLINE = datetime(2013, 12, 6, 17, 0, tzinfo=UTC)
REVIEWED_AT = datetime(2013, 11, 25, 14, 0, tzinfo=UTC)
COMMITTEE_ON = date(2014, 1, 9)
COMMITTEE_PLACE = "Bercy, Paris — salle Pierre Mendès France"
DECIDED_AT = datetime(2014, 1, 9, 17, 0, tzinfo=UTC)
NOTIFIED_AT = datetime(2014, 1, 20, 9, 0, tzinfo=UTC)
ENVELOPE = Decimal("3000000")
SIGNATORY_NAME = "Claire Dumont"  # invented, like every person of the demo
SIGNATORY_TITLE = "Pour le ministre et par délégation, la cheffe de la mission de l'économie sociale et solidaire"
MAX_AMOUNT = Decimal("290000")
MIN_AMOUNT = Decimal("72000")
# Fewer pieces than today's default: the 2013 call asked for the statutes, the budget and the members' list.
DOCUMENT_TYPES = [
    {"code": "statuts", "label": "Statuts de la structure porteuse", "is_required": True},
    {"code": "budget", "label": "Budget prévisionnel", "is_required": True},
    {"code": "liste_membres", "label": "Liste des membres signée", "is_required": True},
    {"code": "autre", "label": "Autre document", "is_required": False},
]

# pole (carrier in the annex's brackets), departments (annex), commune INSEE, domains, quality 1..5 (invented)
POLES = [
    ("PTCE Sud Aquitain", "CBE du Seignanx", ["40"], "40192", ["emploi_insertion"], 4),
    ("Eco-domaine de Bouquetot", "ECOPYA", ["14"], "14118", ["alimentation", "eco_activites"], 4),
    ("La Coursive Boutaric", "La Coursive Boutaric", ["21"], "21231", ["culture"], 3),
    ("ECLIS - Eco Construction Locale & Initiatives Solidaires", "ECLIS", ["22"], "22278", ["eco_activites"], 4),
    ("Les Articulteurs", "Les Articulteurs", ["35"], "35238", ["culture"], 3),
    ("EPV - Eoliennes en Pays de Vilaine", "Eoliennes en Pays de Vilaine", ["35"], "35236", ["eco_activites"], 5),
    ("ARDAINES", "ARDAINES", ["08"], "08105", ["eco_activites"], 2),
    ("Clus'Ter Jura", "Juratri", ["39"], "39300", ["eco_activites", "emploi_insertion"], 5),
    ("Entreprendre en Coopérant", "Entreprendre en Coopérant", ["76"], "76540", ["emploi_insertion"], 3),
    ("Fontaine O Livres", "Fontaine O Livres", ["93", "77", "95"], "93055", ["culture"], 3),
    ("Paris Mix", "Paris Mix", ["75"], "75056", ["culture"], 4),
    ("PôleS NOE", "RESEA 2P", ["91"], "91228", ["emploi_insertion"], 2),
    ("PHARES - Pôle d'Hospitalité aux Activités à Rayonnement Ecologique et Solidaire", "PHARES", ["93"], "93066",
     ["eco_activites"], 4),
    ("Resto Passerelle", "APPUI", ["75", "93", "94"], "93048", ["alimentation", "emploi_insertion"], 3),
    ("REALIS - Réseau Actif pour l'Innovation Sociale", "REALIS", ["34"], "34172", ["emploi_insertion"], 4),
    ("De Fil En Réseaux", "De Fil En Réseaux", ["23"], "23096", ["services_personne"], 3),
    ("Le Périscope", "Le Périscope", ["31"], "31555", ["culture"], 2),
    ("Pôle tarnais de Coopération Economique", "Les Ateliers", ["81"], "81004", ["emploi_insertion"], 4),
    ("Lille MétroPôle Solidaire", "InitiativesETcité", ["59"], "59350", ["eco_activites"], 5),
    ("Pôle de Développement Environnemental Alpilles-Montagnette", "La Courte Echelle", ["13"], "13100",
     ["alimentation", "tourisme_social"], 3),
    ("Bou'Sol", "Pain et Partage", ["13"], "13055", ["alimentation"], 4),
    ("Les Ecossolies - Le Solilab", "Les Ecossolies", ["44"], "44109", ["eco_activites"], 5),
    ("PTCE Pays de Bray", "Maison d'Economie Solidaire", ["60", "76"], "76276", ["alimentation"], 3),
    ("PTCE Niortais", "PTCE Niortais", ["79"], "79191", ["emploi_insertion"], 3),
    ("Domb'Innov", "Val Horizon", ["01"], "01053", ["alimentation", "emploi_insertion"], 4),
    ("Scène(s) de Musiques Actuelles de l'Ardèche - SMAC 07", "SMAC 07", ["07"], "07186", ["culture"], 2),
    ("Pôle Sud", "Archer", ["26"], "26362", ["emploi_insertion", "eco_activites"], 5),
    ("Culture & Coopération", "Culture & Coopération", ["42"], "42218", ["culture"], 3),
    ("InnoVales", "Alvéole", ["74"], "74010", ["eco_activites", "services_personne"], 4),
]

# Real reasons of ineligibility, found by the call's rules (not invented verdicts): by pole index.
NO_ENTERPRISE = 6      # ARDAINES: every member is an ESS structure or a collectivité (``enterprise_partner``)
OVER_STATE_SHARE = 16  # Le Périscope: asks the State for 62.5 % of its budget (``state_share``, at most 50 %)
PUBLIC_CARRIER = 25    # SMAC 07: carried by a syndicat mixte, a collectivité (``legal_person``)
# An advisory finding only (the rule is « indicative » by default): three members of PôleS NOE are in Paris,
# outside its declared department and the adjacent ones (``same_territory``); the pole stays eligible.
OUT_OF_TERRITORY = 11

# Fifteen members: the mix of a PTCE (ESS core, enterprises, collectivités, research, training, other actors).
MEMBER_CATEGORIES = [MemberCategory.ESS] * 6 + [MemberCategory.ENTERPRISE] * 3 + [
    MemberCategory.COLLECTIVITY] * 2 + [MemberCategory.RESEARCH, MemberCategory.TRAINING, MemberCategory.OTHER,
                                        MemberCategory.ESS]
MEMBER_NAMES = {  # {de}: « de Niort », « d'Albi »
    MemberCategory.ESS: ["Association {c} Insertion", "SCOP Les Artisans {de}{c}", "SCIC {c} Énergies",
                         "Ressourcerie {de}{c}", "Mutuelle solidaire {de}{c}", "Chantier d'insertion {c} Nature",
                         "Coopérative d'activités et d'emploi {c}"],
    MemberCategory.ENTERPRISE: ["SARL Transports {de}{c}", "Imprimerie {c} SAS", "Boulangerie Martin ({c})"],
    MemberCategory.COLLECTIVITY: ["Commune {de}{c}", "Communauté d'agglomération {de}{c}"],
    MemberCategory.RESEARCH: ["Laboratoire d'économie de l'université ({c})"],
    MemberCategory.TRAINING: ["Lycée professionnel {de}{c}"],
    MemberCategory.OTHER: ["Chambre régionale de l'ESS (antenne {de}{c})"],
}

# Scores per criterion (six criteria, 0–5) around a pole's quality; the second reviewer reads it a bit differently.
SPREADS = [(0, 0), (0, -1), (1, 0), (-1, 0), (0, 1), (0, 0)]
DISAGREEMENTS = {2, 9, 23}  # poles whose two reviewers are far apart (one enthusiastic, one severe)

LAUREATES = 22    # the best eligible dossiers within the envelope; then a waiting list, the others rejected
WAITLISTED = 2
