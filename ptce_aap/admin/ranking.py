"""The ranking table of a call (/admin/appels/<slug>/classement, SPEC §5, issue 11 point 5): every dossier
still in the competition with its raw and calibrated scores, spread, reviews, recommendations, amount, region,
category, regional rank and current decision; sorted, filtered (region, category, désaccord, minimum score) and
paginated on the server; exported whole (with the filters and the order of the page) as CSV and XLSX.

Reading only (``services.ranking``): a constant number of queries whatever the number of dossiers."""

from __future__ import annotations

import math
from decimal import Decimal

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, StringField

from ptce_aap.admin.blueprint import bp
from ptce_aap.domain.geography import region_name
from ptce_aap.domain.money import AmountError, parse_decimal
from ptce_aap.enums import Recommendation
from ptce_aap.exports import csv_response, xlsx_response
from ptce_aap.fields import ChoiceField, CleanForm
from ptce_aap.i18n import translate
from ptce_aap.models.calls import Call
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import ranking as ranking_service
from ptce_aap.services.ranking import CALIBRATED, RAW, RankRow
from ptce_aap.web import load_or_404, page_arg

PER_PAGE = 50
KINDS = {"calibree": CALIBRATED, "brute": RAW}


def _none_last(value, reverse_sign=True):
    return (value is None, -(value or 0) if reverse_sign else (value or 0))


SORTS = {
    "rang": lambda r: r.rank,
    "moyenne": lambda r: (*_none_last(r.score.mean), r.rank),
    "calibree": lambda r: (*_none_last(r.score.calibrated), r.rank),
    "ecart": lambda r: (*_none_last(r.score.spread), r.rank),
    "montant": lambda r: (-(r.dossier.amount_requested_eur or 0), r.rank),
    "pole": lambda r: ((r.dossier.pole_name or "").casefold(), r.rank),
    "region": lambda r: (region_name(r.dossier.region_code or "").casefold(), r.rank),
}

# The score sorts: what makes a row unscored for each (it is last, whichever the order).
SCORED = {
    "moyenne": lambda r: r.score.mean is None,
    "calibree": lambda r: r.score.calibrated is None,
    "ecart": lambda r: r.score.spread is None,
}


class RankingFilterForm(CleanForm):
    """The filters of the ranking (a GET form: no CSRF, nothing changes)."""

    class Meta:
        csrf = False

    note = ChoiceField(_l("Note utilisée pour le rang"),
                       choices=[("calibree", _l("Note calibrée")), ("brute", _l("Moyenne pondérée"))])
    region = ChoiceField(_l("Région"))
    categorie = ChoiceField(_l("Catégorie"))
    desaccord = BooleanField(_l("Seulement les dossiers en désaccord"))
    min = StringField(_l("Note minimale (sur 100)"))

    def minimum(self) -> Decimal | None:
        """The minimum score typed, or None; an error on the field when it is not a number of 0..100."""
        try:
            return parse_decimal(self.min.data, maximum=Decimal(100))
        except AmountError as exc:
            self.min.errors = [*self.min.errors, translate(exc.message)]
            return None


def _form(rows: list[RankRow], categories: dict) -> RankingFilterForm:
    form = RankingFilterForm(request.args)
    regions = sorted({r.dossier.region_code for r in rows if r.dossier.region_code}, key=region_name)
    form.region.choices = [("", _("Toutes les régions"))] + [(code, region_name(code)) for code in regions]
    form.categorie.choices = [("", _("Toutes les catégories"))] + [(c.code, c.label) for c in categories.values()]
    form.validate()
    return form


def _table(call: Call):
    """The rows of the page's filters and order (all of them: the page slices, the exports take all)."""
    kind = KINDS.get(request.args.get("note", "calibree"), CALIBRATED)
    categories = ranking_service.categories(call)
    rows = ranking_service.ranking(call, kind, cats=categories, light=True)
    form = _form(rows, categories)
    minimum = form.minimum()
    shown = [r for r in rows
             if (not form.region.data or r.dossier.region_code == form.region.data)
             and (not form.categorie.data or r.dossier.category_code == form.categorie.data)
             and (not form.desaccord.data or r.score.disagreement)
             and (minimum is None or (r.value(kind) is not None and r.value(kind) >= minimum))]
    sort = request.args.get("tri", "rang")
    sort = sort if sort in SORTS else "rang"
    reverse = request.args.get("ordre") == "inverse"
    shown.sort(key=SORTS[sort], reverse=reverse)
    if sort in SCORED:  # rows without the value stay last in either order, in rank order
        missing = SCORED[sort]
        shown = [r for r in shown if not missing(r)] + sorted((r for r in shown if missing(r)), key=lambda r: r.rank)
    filters = {k: v for k, v in request.args.items() if k in ("note", "region", "categorie", "desaccord", "min") and v}
    args = filters | {"tri": sort} | ({"ordre": "inverse"} if reverse else {})
    return form, kind, rows, shown, sort, reverse, args, filters, categories


@bp.route("/appels/<slug>/classement")
def ranking(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    form, kind, rows, shown, sort, reverse, args, filters, categories = _table(call)
    pages = max(1, math.ceil(len(shown) / PER_PAGE))
    page = min(page_arg(), pages)
    rows_shown = ranking_service.add_details(call, shown[(page - 1) * PER_PAGE: page * PER_PAGE])
    return render_template("admin/ranking.html", call=call, form=form, kind=kind, total=len(rows),
                           rows=rows_shown, count=len(shown), page=page,
                           pages=pages, sort=sort, reverse=reverse, args=args, filters=filters, recommendations=list(Recommendation),
                           categories=categories, region_name=region_name)


def _header() -> list[str]:
    return [_("Rang"), _("Dossier"), _("Pôle"), _("Région"), _("Catégorie"), _("Montant demandé (€)"),
            _("Moyenne pondérée (/100)"), _("Note calibrée (/100)"), _("Écart (part de l'échelle)"), _("Désaccord"),
            _("Évaluations remises"), *(str(r.label) for r in Recommendation), _("Rang régional"),
            _("Décision"), _("Montant accordé (€)"), _("Statut du dossier")]


def _cells(row: RankRow, categories: dict, *, text_numbers: bool) -> list:
    def number(value):
        if value is None:
            return ""
        return str(value).replace(".", ",") if text_numbers else value

    d, decision = row.dossier, row.decision
    category = categories.get(d.category_code)
    return [row.rank, d.id, d.pole_name, region_name(d.region_code) if d.region_code else "",
            category.label if category else (d.category_code or ""), number(d.amount_requested_eur),
            number(row.score.mean), number(row.score.calibrated), number(row.score.spread),
            _("oui") if row.score.disagreement else _("non"), row.score.submitted,
            *(row.tallies.get(r, 0) for r in Recommendation), row.regional_rank if row.regional_rank else "",
            str(decision.outcome.label) if decision else "", number(decision.amount_eur) if decision else "",
            str(d.status.label)]


@bp.route("/appels/<slug>/classement.csv")
def ranking_csv(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    *_rest, shown, _sort, _reverse, _args, _filters, categories = _table(call)
    shown = ranking_service.add_details(call, shown, whole_call=True)
    return csv_response(f"classement-{call.slug}.csv", _header(),
                        (_cells(row, categories, text_numbers=True) for row in shown))


@bp.route("/appels/<slug>/classement.xlsx")
def ranking_xlsx(slug: str):
    """The same table as a workbook; numbers stay numbers, every text cell goes through ``safe_cell`` so that
    nothing a pole typed is read as a formula (``exports.xlsx_response``)."""
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    *_rest, shown, _sort, _reverse, _args, _filters, categories = _table(call)
    shown = ranking_service.add_details(call, shown, whole_call=True)
    return xlsx_response(f"classement-{call.slug}.xlsx", _header(),
                         (_cells(row, categories, text_numbers=False) for row in shown),
                         title=_("Classement"), widths={2: 40, 3: 26, 4: 20})
