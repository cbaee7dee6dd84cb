"""The instruction list of a call (/admin/appels/<slug>/dossiers, issue 11 point 3): the submitted dossiers,
filtered, sorted and paginated on the server, with the filters in the URL (a GET form) shown as removable
tags; the filtered list exported as CSV or XLSX (streamed); bulk actions on the rows the admin ticks (re-check
the eligibility, export the selection), each through a confirmation page before the POST acts.

The page reads a constant number of queries whatever the number of dossiers; the exports read their rows in
batches (``services.instruction.export_rows``)."""

from __future__ import annotations

import math

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ptce_aap.admin import forms
from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.instruction_filters import (
    SORT_PARAMS,
    eligibility_labels,
    export_header,
    export_values,
    read_filters,
    tags,
)
from ptce_aap.domain import geography
from ptce_aap.enums import ActivityDomain
from ptce_aap.exports import csv_stream_response, xlsx_response
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import eligibility as eligibility_service
from ptce_aap.services import instruction
from ptce_aap.services.instruction import LISTED_STATUSES, MAX_SELECTION, Filters
from ptce_aap.web import load_or_404, page_arg

PER_PAGE = 50
BULK_ACTIONS = ("verifier", "exporter_csv", "exporter_xlsx")
EXPORT_WIDTHS = {1: 40, 2: 40, 3: 17, 4: 18, 5: 26, 13: 17}  # pole, structure, SIRET, status, region, date


def _bulk_labels() -> dict[str, str]:
    return {"verifier": _("Relancer la vérification d’éligibilité"),
            "exporter_csv": _("Exporter la sélection (CSV)"),
            "exporter_xlsx": _("Exporter la sélection (XLSX)")}


def _region_names() -> dict[str, str]:
    return {r.code: r.name for r in geography.regions().values()}


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    return call


@bp.route("/appels/<slug>/dossiers")
def call_dossiers(slug: str):
    call = _call(slug)
    read = read_filters(request.args, call)
    facts = instruction.call_facts(call)
    total = instruction.count(call, read.filters, facts)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page_arg(), pages)
    rows = instruction.page(call, read.filters, facts, number=page, per_page=PER_PAGE)
    checkable = eligibility_service.checkable_count(call)
    return render_template(
        "admin/call_dossiers.html", call=call, rows=rows, total=total, page=page, pages=pages, read=read,
        filters=read.filters, args=read.args, tags=tags(read, call), facts=facts, statuses=LISTED_STATUSES,
        regions=[(r.code, r.name) for r in geography.regions().values()], region_names=_region_names(),
        departments=[(d.code, d.label) for d in geography.departments().values()],
        categories=[(c.code, c.label) for c in call.categories],
        domains=ActivityDomain.choices(), eligibility_labels=eligibility_labels(), checkable=checkable,
        bulk_labels=_bulk_labels(), sort_args={k: v for k, v in read.args.items() if k in SORT_PARAMS},
        max_selection=MAX_SELECTION), 200 if not read.errors else 422


def _export(call: Call, filters: Filters, fmt: str, *, ids=None, name: str):
    facts = instruction.call_facts(call)
    rows = export_values(instruction.export_rows(call, filters, facts, ids=ids), call)
    if fmt == "csv":
        return csv_stream_response(f"{name}.csv", export_header(), rows)
    return xlsx_response(f"{name}.xlsx", export_header(), rows, title=_("Dossiers"), widths=EXPORT_WIDTHS)


@bp.route("/appels/<slug>/dossiers.csv")
def call_dossiers_csv(slug: str):
    call = _call(slug)
    return _export(call, read_filters(request.args, call).filters, "csv", name=f"dossiers-{call.slug}")


@bp.route("/appels/<slug>/dossiers.xlsx")
def call_dossiers_xlsx(slug: str):
    call = _call(slug)
    return _export(call, read_filters(request.args, call).filters, "xlsx", name=f"dossiers-{call.slug}")


def _selected_ids(values) -> list[int]:
    ids = []
    for value in values:
        if value.isascii() and value.isdigit() and len(value) < 12:
            ids.append(int(value))
    return ids


@bp.route("/appels/<slug>/dossiers/selection", methods=["GET", "POST"])
def dossiers_selection(slug: str):
    """GET: what the chosen bulk action will do to the ticked dossiers; POST (confirmed): do it."""
    call = _call(slug)
    source = request.form if request.method == "POST" else request.args
    action = source.get("action", "")
    sort = read_filters(source, call)
    back = url_for("admin.call_dossiers", slug=call.slug, **sort.args)
    if action not in BULK_ACTIONS:
        flash(_("Choisissez l’action à appliquer aux dossiers cochés."), "error")
        return redirect(back)
    dossiers = instruction.selection(call, _selected_ids(source.getlist("ids")))
    if not dossiers:
        flash(_("Cochez au moins un dossier de la liste avant de choisir une action."), "error")
        return redirect(back)
    form = forms.ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if action == "verifier":
            outcome = instruction.recheck_selection(call, dossiers, by=current_user)
            db.session.commit()
            message = ngettext("%(num)d dossier a été vérifié de nouveau.",
                               "%(num)d dossiers ont été vérifiés de nouveau.", outcome.checked)
            if outcome.kept_overrides:
                message += " " + ngettext("%(num)d verdict forcé a été conservé.",
                                          "%(num)d verdicts forcés ont été conservés.", outcome.kept_overrides)
            if outcome.skipped:
                message += " " + ngettext("%(num)d dossier ne peut plus être vérifié (retiré ou en évaluation).",
                                          "%(num)d dossiers ne peuvent plus être vérifiés (retirés ou en évaluation).",
                                          outcome.skipped)
            flash(message, "success")
            return redirect(back)
        fmt = "csv" if action == "exporter_csv" else "xlsx"
        instruction.record_export(call, count=len(dossiers), fmt=fmt, selected=True, by=current_user)
        db.session.commit()
        order = Filters(sort=sort.filters.sort, descending=sort.filters.descending)
        return _export(call, order, fmt, ids=[d.id for d in dossiers], name=f"selection-{call.slug}")
    checkable = [d for d in dossiers if d.status in eligibility_service.CHECKABLE]
    return render_template("admin/dossiers_selection.html", call=call, dossiers=dossiers, action=action,
                           action_label=_bulk_labels()[action], form=form, checkable=checkable,
                           sort_args={k: v for k, v in sort.args.items() if k in SORT_PARAMS}, back=back)
