"""The filters of a call's instruction list, read from the URL (a GET form: a filtered list can be bookmarked
and shared), and what the page shows of them: the choices, the removable tags, the columns of the exports.

``read_filters`` never fails: a value it does not know is dropped, a typed minimum score it cannot read is
kept as typed with a message beside its field (and not applied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask import url_for
from flask_babel import gettext as _

from ptce_aap.domain import geography
from ptce_aap.enums import ActivityDomain, DossierStatus
from ptce_aap.models.calls import Call
from ptce_aap.services.instruction import ELIGIBILITY_OUTCOMES, LISTED_STATUSES, SORT_KEYS, ExportRow, Filters

# Every URL parameter of the list besides the page: filters first, then the sort.
FILTER_PARAMS = ("q", "statut", "region", "departement", "categorie", "domaine", "eligibilite", "note_min",
                 "desaccord", "conflit")
SORT_PARAMS = ("tri", "ordre")


@dataclass
class ReadFilters:
    filters: Filters
    args: dict[str, str]  # the URL parameters that are in effect (for links, tags and exports)
    typed: dict[str, str] = field(default_factory=dict)  # what the form shows again
    errors: dict[str, str] = field(default_factory=dict)


def eligibility_labels() -> dict[str, str]:
    return {"recevable": _("Éligible"), "irrecevable": _("Non éligible"), "non_verifie": _("Pas encore vérifié")}


def read_filters(query, call: Call) -> ReadFilters:
    """The filters and sort of ``query`` (``request.args``) for ``call``."""
    def arg(name: str) -> str:
        return (query.get(name) or "").strip()[:200]

    args: dict[str, str] = {}
    typed = {name: arg(name) for name in FILTER_PARAMS}
    errors: dict[str, str] = {}
    status = arg("statut")
    status = DossierStatus(status) if status in {s.value for s in LISTED_STATUSES} else None
    region = arg("region") if arg("region") in geography.regions() else ""
    department = arg("departement") if arg("departement") in geography.departments() else ""
    category = arg("categorie") if arg("categorie") in {c.code for c in call.categories} else ""
    domain = arg("domaine") if arg("domaine") in {d.value for d in ActivityDomain} else ""
    eligibility = arg("eligibilite") if arg("eligibilite") in ELIGIBILITY_OUTCOMES else ""
    min_score = None
    if typed["note_min"]:
        try:
            min_score = Decimal(typed["note_min"].replace(",", ".").replace("\u202f", "").replace(" ", ""))
        except InvalidOperation:
            min_score = None
        if min_score is None or not min_score.is_finite() or not 0 <= min_score <= 100:
            min_score = None
            errors["note_min"] = _("Indiquez une note entre 0 et 100, par exemple 60 ou 62,5.")
    search = arg("q")
    values = {"q": search, "statut": status.value if status else "", "region": region, "departement": department,
              "categorie": category, "domaine": domain, "eligibilite": eligibility,
              "note_min": typed["note_min"] if min_score is not None else "",
              "desaccord": "1" if arg("desaccord") else "", "conflit": "1" if arg("conflit") else ""}
    args.update({k: v for k, v in values.items() if v})
    sort = arg("tri") if arg("tri") in SORT_KEYS else "depot"
    descending = arg("ordre") == "desc"
    args["tri"] = sort
    if descending:
        args["ordre"] = "desc"
    filters = Filters(status=status, region=region, department=department, category=category, domain=domain,
                      eligibility=eligibility, min_score=min_score, disagreement=bool(values["desaccord"]),
                      conflict=bool(values["conflit"]), search=search, sort=sort, descending=descending)
    return ReadFilters(filters, args, typed, errors)


def tags(read: ReadFilters, call: Call) -> list[tuple[str, str]]:
    """(text, URL of the list without it) for every filter in effect, in the form's order."""
    f = read.filters
    categories = {c.code: c.label for c in call.categories}
    texts = {
        "q": lambda: _("Recherche : %(text)s", text=f.search),
        "statut": lambda: _("Statut : %(label)s", label=f.status.label),
        "region": lambda: _("Région : %(name)s", name=geography.region_name(f.region)),
        "departement": lambda: _("Département : %(name)s", name=geography.departments()[f.department].label),
        "categorie": lambda: _("Catégorie : %(label)s", label=categories.get(f.category, f.category)),
        "domaine": lambda: _("Domaine : %(label)s", label=ActivityDomain(f.domain).label),
        "eligibilite": lambda: _("Éligibilité : %(label)s", label=eligibility_labels()[f.eligibility]),
        "note_min": lambda: _("Note moyenne d’au moins %(score)s", score=read.args["note_min"]),
        "desaccord": lambda: _("Désaccord entre rapporteurs"),
        "conflit": lambda: _("Conflit d’intérêts non levé"),
    }
    return [(texts[name](), url_for("admin.call_dossiers", slug=call.slug,
                                    **{k: v for k, v in read.args.items() if k != name}))
            for name in FILTER_PARAMS if name in read.args]


def export_header() -> list[str]:
    return [_("Dossier"), _("Pôle"), _("Structure porteuse"), _("SIRET"), _("Statut"), _("Région"),
            _("Départements"), _("Catégorie"), _("Montant demandé (€)"), _("Éligibilité"), _("Note moyenne (/100)"),
            _("Désaccord"), _("Conflit d’intérêts non levé"), _("Déposé le")]


def export_values(rows, call: Call):
    """One list of cells per ``ExportRow`` (numbers stay numbers; texts made safe by the writer)."""
    categories = {c.code: c.label for c in call.categories}
    labels = eligibility_labels()
    yes, no = _("oui"), _("non")
    row: ExportRow
    for row in rows:
        outcome = ("non_verifie" if row.is_eligible is None else "recevable" if row.is_eligible else "irrecevable")
        score = row.score
        yield [row.id, row.pole_name, row.carrier_legal_name, row.carrier_siret, row.status.label,
               geography.region_name(row.region_code) if row.region_code else "",
               ", ".join(row.departments or []), categories.get(row.category_code or "", row.category_code or ""),
               row.amount_requested_eur,
               labels[outcome] + (" " + _("(forcé)") if row.is_override else ""),
               score.mean if score is not None else None,
               (yes if score.disagreement else no) if score is not None else "",
               yes if row.conflicted else no,
               row.submitted_at]  # a date in the XLSX, written as the pages do in the CSV
