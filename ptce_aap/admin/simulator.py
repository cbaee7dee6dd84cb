"""The selection simulator of a call (/admin/appels/<slug>/simulateur, issue 11 point 6): the secretariat sets
the score and the constraints, runs it (a POST that changes nothing: the form can be long) and reads the
proposal — laureates with their amounts, total score, envelope used and left, what each constraint costs, the
waiting list with its reasons, or the constraints that cannot hold together. A run can be saved as a scenario
(``services.scenarios.save``, audited); ``?scenario=<id>`` runs a saved scenario's parameters again on
today's data. Bad input: the message beside its field, what was typed kept."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, HiddenField, StringField, TextAreaField

from ptce_aap.admin.blueprint import bp
from ptce_aap.domain.geography import region_name
from ptce_aap.domain.money import AmountError, ascii_int, parse_amount, parse_decimal
from ptce_aap.domain.selection import Reason
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.fields import ChoiceRadioField, CleanForm
from ptce_aap.formatting import format_eur
from ptce_aap.i18n import translate
from ptce_aap.models.calls import Call
from ptce_aap.models.scenarios import SelectionScenario
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import ranking as ranking_service
from ptce_aap.services import scenarios as scenario_service
from ptce_aap.services.ranking import CALIBRATED, RAW
from ptce_aap.services.scenarios import Params
from ptce_aap.web import load_or_404, show_on_form

MAX_ID = 2**31 - 1
WAITING_SHOWN = 100  # the waiting list on the page (a call of 1,000 dossiers); the saved scenario keeps it whole
REASONS = {
    Reason.FORCED_OUT: _l("écarté d’office"),
    Reason.BELOW_MIN: _l("sous la note minimale"),
    Reason.ENVELOPE: _l("l’enveloppe restante ne suffit pas"),
    Reason.QUOTA: _l("quota de la catégorie atteint"),
    Reason.CAP: _l("plafond de la catégorie atteint"),
    Reason.NO_GAIN: _l("n’ajoute rien au total des notes"),
}
_SEPARATORS = re.compile(r"[\s,;]+")
_AMOUNT_LINE = re.compile(r"^\s*(?:n°\s*)?([0-9]+)\s*[:=]\s*(.+)$")


class SimulatorForm(CleanForm):
    """The fixed fields; ``simulator_form`` adds a quota and a cap per category of the call."""

    note = ChoiceRadioField(_l("Note utilisée"), choices=[(CALIBRATED, _l("Note calibrée")),
                                                          (RAW, _l("Moyenne pondérée (note brute)"))],
                            default=CALIBRATED)
    regions = BooleanField(_l("Au moins un lauréat par région ayant un dossier noté"))
    min_score = StringField(_l("Note minimale (sur 100)"))
    forced_in = StringField(_l("Dossiers retenus d’office"))
    forced_out = StringField(_l("Dossiers écartés d’office"))
    amounts = TextAreaField(_l("Montants ajustés"))


class SaveForm(CleanForm):
    name = StringField(_l("Nom du scénario"))
    params = HiddenField()


def simulator_form(categories, formdata=None):
    class Form(SimulatorForm):
        pass

    for i, category in enumerate(categories):
        setattr(Form, f"quota_{i}", StringField(_l("Nombre maximal de lauréats — %(label)s", label=category.label)))
        setattr(Form, f"cap_{i}", StringField(_l("Montant maximal pour la catégorie — %(label)s",
                                                 label=category.label)))
    form = Form(formdata)
    if formdata is None:
        for i, category in enumerate(categories):
            if category.quota is not None:
                getattr(form, f"quota_{i}").data = str(category.quota)
    return form


def _ids(field, known: set[int]) -> set[int]:
    out, wrong = set(), []
    for part in _SEPARATORS.split((field.data or "").replace("n°", " ").strip()):
        if not part:
            continue
        ident = ascii_int(part, maximum=MAX_ID)
        if ident is None or ident not in known:
            wrong.append(part)
        else:
            out.add(ident)
    if wrong:
        field.errors = [*field.errors, _("Numéros de dossier inconnus dans ce classement : %(ids)s.",
                                         ids=", ".join(wrong))]
    return out


def _amounts(field, caps: dict[int, Decimal]) -> dict[int, Decimal]:
    out = {}
    for number, line in enumerate((field.data or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = _AMOUNT_LINE.match(line)
        ident = ascii_int(match.group(1), maximum=MAX_ID) if match else None
        if ident is None or ident not in caps:
            field.errors.append(_("Ligne %(n)s : écrivez « numéro du dossier : montant », par exemple « 12 : 40 000 ».",
                                  n=number))
            continue
        try:
            amount = parse_amount(match.group(2))
        except AmountError as exc:
            field.errors.append(_("Ligne %(n)s : %(message)s", n=number, message=translate(exc.message)))
            continue
        if amount is None or amount > caps[ident]:
            field.errors.append(_("Ligne %(n)s : le dossier %(id)s peut recevoir au plus %(cap)s.", n=number,
                                  id=ident, cap=format_eur(caps[ident])))
            continue
        out[ident] = amount
    return out


def parse(form, categories, rows) -> Params | None:
    """The form's values as ``Params``, or None with an error beside each wrong field."""
    form.validate()
    params = Params(score_kind=form.note.data if form.note.data in (RAW, CALIBRATED) else CALIBRATED,
                    regions=bool(form.regions.data))
    try:
        params.min_score = parse_decimal(form.min_score.data, maximum=Decimal(100))
    except AmountError as exc:
        form.min_score.errors = [*form.min_score.errors, translate(exc.message)]
    known = {r.dossier.id for r in rows}
    params.forced_in = _ids(form.forced_in, known)
    params.forced_out = _ids(form.forced_out, known)
    params.amounts = _amounts(form.amounts, {r.dossier.id: r.cap for r in rows})
    for i, category in enumerate(categories):
        quota, cap = getattr(form, f"quota_{i}"), getattr(form, f"cap_{i}")
        if (quota.data or "").strip():
            value = ascii_int(quota.data.strip(), maximum=100_000)
            if value is None:
                quota.errors = [*quota.errors, _("Saisissez un nombre entier, par exemple 3.")]
            else:
                params.quotas[category.code] = value
        try:
            amount = parse_amount(cap.data)
        except AmountError as exc:
            cap.errors = [*cap.errors, translate(exc.message)]
        else:
            if amount is not None:
                params.caps[category.code] = amount
    return None if any(f.errors for f in form) else params


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    return call


def _render(call, form, categories, result=None, save_form=None, status=200):
    # Before a result: the dossiers in the running with their numbers, to fill the fields that name them.
    candidates = ranking_service.ranking(call) if result is None else None
    return render_template("admin/simulator.html", call=call, form=form, categories=categories, result=result,
                           candidates=candidates, category_labels={c.code: c for c in categories},
                           save_form=save_form, reasons=REASONS, region_name=region_name, waiting_shown=WAITING_SHOWN,
                           category_fields=[(c, getattr(form, f"quota_{i}"), getattr(form, f"cap_{i}"))
                                            for i, c in enumerate(categories)]), status


@bp.route("/appels/<slug>/simulateur", methods=["GET", "POST"])
def simulator(slug: str):
    """GET: the form; POST: the proposal for what was typed (nothing is written)."""
    call = _call(slug)
    categories = list(ranking_service.categories(call).values())
    if request.method == "GET":
        form = simulator_form(categories)
        scenario = _scenario_arg(call)
        if scenario is None:
            return _render(call, form, categories)
        params = Params.from_json(scenario.params)  # a saved scenario run again on today's data
        _fill(form, categories, params)
        result = scenario_service.run(call, params)
        return _result(call, form, categories, result, params)
    form = simulator_form(categories, request.form)
    rows = ranking_service.ranking(call)
    params = parse(form, categories, rows)
    if params is None:
        return _render(call, form, categories, status=422)
    return _result(call, form, categories, scenario_service.run(call, params), params)


def _result(call, form, categories, result, params: Params):
    if result.error is not None:
        return _render(call, form, categories, result=result, status=422)
    save_form = SaveForm(formdata=None, params=json.dumps(params.to_json()))
    return _render(call, form, categories, result=result, save_form=save_form)


def _scenario_arg(call: Call) -> SelectionScenario | None:
    """The saved scenario named by ``?scenario=`` (one of this call's), or None."""
    ident = ascii_int(request.args.get("scenario", ""), maximum=MAX_ID)
    scenario = db.session.get(SelectionScenario, ident) if ident is not None else None
    return scenario if scenario is not None and scenario.call_id == call.id else None


@bp.route("/appels/<slug>/simulateur/enregistrer", methods=["POST"])
def save_scenario(slug: str):
    """Run the parameters again and keep the result under a name (audited)."""
    call = _call(slug)
    save_form = SaveForm()
    try:
        params = Params.from_json(json.loads(save_form.params.data or ""))
    except (ValueError, TypeError, AttributeError, ArithmeticError):
        abort(400)
    categories = list(ranking_service.categories(call).values())
    result = scenario_service.run(call, params)
    if save_form.validate_on_submit():
        try:
            scenario = scenario_service.save(call, save_form.name.data, result, by=current_user)
            db.session.commit()
        except DomainError as exc:
            show_on_form(exc, save_form)
        else:
            flash(_("Le scénario « %(name)s » est enregistré.", name=scenario.name), "success")
            return redirect(url_for("admin.scenarios", slug=call.slug))
    form = simulator_form(categories)
    _fill(form, categories, params)
    return _render(call, form, categories, result=result, save_form=save_form, status=422)


def _fill(form, categories, params: Params) -> None:
    """The simulator form showing ``params`` (the page again after a refused save)."""
    form.note.data = params.score_kind
    form.regions.data = params.regions
    form.min_score.data = "" if params.min_score is None else str(params.min_score).replace(".", ",")
    form.forced_in.data = ", ".join(str(i) for i in sorted(params.forced_in))
    form.forced_out.data = ", ".join(str(i) for i in sorted(params.forced_out))
    form.amounts.data = "\n".join(f"{k} : {str(v).replace('.', ',')}" for k, v in sorted(params.amounts.items()))
    for i, category in enumerate(categories):
        quota = params.quotas.get(category.code)
        getattr(form, f"quota_{i}").data = "" if quota is None else str(quota)
        cap = params.caps.get(category.code)
        getattr(form, f"cap_{i}").data = "" if cap is None else str(cap).replace(".", ",")
