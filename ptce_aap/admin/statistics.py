"""Statistics for the ministry's report (issue 12, point 2): one call's (/admin/appels/<slug>/statistiques, in the
call's navigation) and several calls compared side by side (/admin/statistiques, from the administration home;
``?appel=<slug>`` repeated chooses the calls, all the calls with submitted dossiers by default). Dossiers,
laureates and amounts by region, department, domain and category; members per pole and by category; forms of
cooperation and governance; jobs. Charts drawn on the server, each with its data table; every table in one CSV.
Read-only; a constant number of queries (``services.statistics``)."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.admin.blueprint import bp
from ptce_aap.domain import charts, france_map, geography
from ptce_aap.domain import statistics as stats
from ptce_aap.enums import ActivityDomain, CooperationForm, GovernanceForm, MemberCategory
from ptce_aap.exports import csv_response
from ptce_aap.models.calls import Call
from ptce_aap.permissions import can_administer, can_manage_call, require
from ptce_aap.services import statistics as service
from ptce_aap.web import load_or_404

CHARTED = ("regions", "domaines", "categories", "formes_cooperation", "formes_gouvernance")


def _enum_label(enum, key: str) -> str:
    try:
        return enum(key).label
    except ValueError:
        return key


def labeller(report: service.Report):
    """``label(table, key)``: the name of a row of a table of the report, in the page's language."""
    unknown = {"regions": _("Région non renseignée"), "departements": _("Départements non renseignés"),
               "domaines": _("Domaine non renseigné"), "categories": _("Sans catégorie"),
               "formes_cooperation": _("Aucune forme de coopération indiquée"),
               "formes_gouvernance": _("Forme de gouvernance non renseignée"),
               "membres": _("Catégorie non renseignée")}
    jobs = {"existants_tous": _("Emplois existants, tous les dossiers"),
            "existants_laureats": _("Emplois existants, lauréats"),
            "a_creer_tous": _("Emplois à créer, tous les dossiers"), "a_creer_laureats": _("Emplois à créer, lauréats")}

    def label(table: str, key: str) -> str:
        if table == "emplois":
            return jobs[key]
        if key == stats.UNKNOWN:
            return unknown[table]
        if table == "regions":
            return geography.region_name(key)
        if table == "departements":
            department = geography.departments().get(key)
            return department.label if department else key
        if table == "categories":
            return report.category_labels.get(key, key)
        enum = {"domaines": ActivityDomain, "formes_cooperation": CooperationForm,
                "formes_gouvernance": GovernanceForm, "membres": MemberCategory}[table]
        return _enum_label(enum, key)

    return label


def _charts(report: service.Report) -> dict[str, charts.HBarChart]:
    """One chart per breakdown: for one call, its dossiers and laureates per row; for several, each call's
    dossiers per row (one bar per call, in the order of the columns)."""
    figures = report.figures
    single = len(figures.call_ids) == 1
    out = {}
    for name in CHARTED:
        rows = stats.breakdown_rows(figures, name)
        out[name] = charts.hbar_chart(
            [(row.key, [row.total.dossiers, row.total.laureates] if single
              else [row.of(cid).dossiers for cid in figures.call_ids]) for row in rows])
    shares = figures.total.member_shares
    out["membres"] = charts.hbar_chart([(s.key, [s.count]) for s in shares])
    return out


def _render(report: service.Report, *, call: Call | None, csv_url: str, choices=(), chosen=()):
    figures = report.figures
    label = labeller(report)
    breakdowns = {name: stats.breakdown_rows(figures, name) for name in CHARTED}
    row_labels = {name: {row.key: label(name, row.key) for row in rows} for name, rows in breakdowns.items()}
    row_labels["membres"] = {s.key: label("membres", s.key) for s in figures.total.member_shares}
    return render_template(
        "admin/statistics.html", call=call, report=report, figures=figures, label=label, breakdowns=breakdowns,
        row_labels=row_labels, charts=_charts(report), csv_url=csv_url, choices=choices, chosen=chosen,
        dossier_map=france_map.france_map(figures.department_dossiers),
        laureate_map=france_map.france_map(figures.department_laureates))


def _csv(report: service.Report, filename: str):
    header = [_("tableau"), _("appel"), _("titre de l’appel"), _("code"), _("libellé"), _("mesure"), _("valeur")]
    calls = {c.id: (c.slug, c.title) for c in report.calls}
    rows = stats.export_rows(report.figures, calls, labeller(report), all_calls=_("Ensemble des appels choisis"))
    return csv_response(filename, header, rows)


@bp.route("/appels/<slug>/statistiques")
def call_statistics(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    return _render(service.report([call]), call=call,
                   csv_url=url_for("admin.call_statistics_csv", slug=call.slug))


@bp.route("/appels/<slug>/statistiques.csv")
def call_statistics_csv(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    return _csv(service.report([call]), f"statistiques-{call.slug}.csv")


def _chosen_calls() -> tuple[list[Call], list[Call]]:
    """(every call, the calls chosen by ``?appel=``, by default those with submitted dossiers), oldest first."""
    every = service.all_calls()
    wanted = set(request.args.getlist("appel"))
    chosen = [c for c in every if c.slug in wanted]
    return every, chosen or service.calls_with_submissions()


@bp.route("/statistiques")
def statistics():
    require(can_administer(current_user))
    every, chosen = _chosen_calls()
    csv_url = url_for("admin.statistics_csv", appel=[c.slug for c in chosen])
    return _render(service.report(chosen), call=None, csv_url=csv_url, choices=every, chosen={c.id for c in chosen})


@bp.route("/statistiques.csv")
def statistics_csv():
    require(can_administer(current_user))
    _every, chosen = _chosen_calls()
    return _csv(service.report(chosen), "statistiques-appels.csv")
