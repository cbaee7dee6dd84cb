"""Saved scenarios of a call (issue 11 point 6): the list (/admin/appels/<slug>/scenarios), two or three side
by side, deletion after confirmation, and « Appliquer ce scénario »: while the call deliberates, a confirmation
page lists every dossier with its outcome and the motivation of each outcome (editable), then records the
decisions at once (``services.scenarios.apply`` → ``services.decisions.decide_many``)."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import TextAreaField
from wtforms.validators import Length

from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.forms import ConfirmForm
from ptce_aap.domain.geography import region_name
from ptce_aap.domain.money import ascii_int
from ptce_aap.enums import CallStatus, DecisionOutcome, PaymentTerms
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.fields import ChoiceField, CleanForm
from ptce_aap.models.calls import Call
from ptce_aap.models.scenarios import SelectionScenario
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import scenarios as scenario_service
from ptce_aap.web import domain_errors, load_or_404, show_on_form

MAX_ID = 2**31 - 1
KIND_LABELS = {"raw": _l("Moyenne pondérée"), "calibrated": _l("Note calibrée")}
DEFAULT_MOTIVATIONS = {
    DecisionOutcome.LAUREATE: _l("Classé {rang} sur {total} avec la note de {note} sur 100, le projet est retenu "
                                 "dans la limite de l’enveloppe de l’appel."),
    DecisionOutcome.WAITLISTED: _l("Classé {rang} sur {total} avec la note de {note} sur 100, le projet est placé "
                                   "sur la liste complémentaire : l’enveloppe de l’appel ne permet pas de le "
                                   "retenir à ce stade."),
    DecisionOutcome.REJECTED: _l("Classé {rang} sur {total} avec la note de {note} sur 100, le projet n’est pas "
                                 "retenu au regard des notes des autres projets et des règles de l’appel."),
}


class ApplyForm(CleanForm):
    motivation_laureate = TextAreaField(_l("Motivation des lauréats"), validators=[Length(max=5000)])
    motivation_waitlisted = TextAreaField(_l("Motivation de la liste complémentaire"), validators=[Length(max=5000)])
    motivation_rejected = TextAreaField(_l("Motivation des dossiers non retenus"), validators=[Length(max=5000)])
    payment_terms = ChoiceField(_l("Modalités de versement des lauréats"),
                                choices=[(PaymentTerms.SINGLE.value, _l("Versement unique")),
                                         (PaymentTerms.OTHER.value, _l("Autre"))], default=PaymentTerms.SINGLE.value)
    correction_reason = TextAreaField(_l("Pourquoi les décisions déjà prises sont corrigées"),
                                      validators=[Length(max=1000)])


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    return call


def _scenario(slug: str, scenario_id: int) -> SelectionScenario:
    call = _call(slug)
    scenario = load_or_404(SelectionScenario, scenario_id)
    if scenario.call_id != call.id:
        abort(404)
    return scenario


@bp.route("/appels/<slug>/scenarios")
def scenarios(slug: str):
    call = _call(slug)
    items = scenario_service.scenarios_of(call)
    current = scenario_service.current_fingerprint(call, {s.score_kind for s in items})
    return render_template("admin/scenarios.html", call=call, scenarios=items, kinds=KIND_LABELS, dec=Decimal,
                           up_to_date={s.id: current.get(s.score_kind) == s.result.get("fingerprint")
                                       for s in items})


@bp.route("/appels/<slug>/scenarios/comparer")
def compare_scenarios(slug: str):
    """Two or three scenarios side by side: each dossier laureate in which, the differences said in words."""
    call = _call(slug)
    ids = [ascii_int(v, maximum=MAX_ID) for v in request.args.getlist("ids")]
    by_id = {s.id: s for s in scenario_service.scenarios_of(call)}
    chosen = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
    if not 2 <= len(chosen) <= scenario_service.COMPARED_MAX:
        flash(_("Choisissez deux ou trois scénarios à comparer."), "error")
        return redirect(url_for("admin.scenarios", slug=call.slug))
    return render_template("admin/scenario_compare.html", call=call, scenarios=chosen, kinds=KIND_LABELS, dec=Decimal,
                           lines=scenario_service.compare(chosen))


@bp.route("/appels/<slug>/scenarios/<int:scenario_id>/supprimer", methods=["GET", "POST"])
@domain_errors(lambda slug, scenario_id: url_for("admin.scenarios", slug=slug))
def delete_scenario(slug: str, scenario_id: int):
    scenario = _scenario(slug, scenario_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = scenario.name
        scenario_service.delete(scenario, by=current_user)
        db.session.commit()
        flash(_("Le scénario « %(name)s » est supprimé.", name=name), "success")
        return redirect(url_for("admin.scenarios", slug=slug))
    return render_template("admin/scenario_delete.html", call=scenario.call, scenario=scenario, form=form)


@bp.route("/appels/<slug>/scenarios/<int:scenario_id>/appliquer", methods=["GET", "POST"])
@domain_errors(lambda slug, scenario_id: url_for("admin.scenarios", slug=slug))
def apply_scenario(slug: str, scenario_id: int):
    """The decisions a scenario gives, to confirm (motivations editable), then recorded at once."""
    scenario = _scenario(slug, scenario_id)
    call = scenario.call
    if call.status != CallStatus.DELIBERATION:
        flash(_("Un scénario s’applique pendant la délibération de l’appel (état actuel : %(status)s).",
                status=call.status.label), "error")
        return redirect(url_for("admin.scenarios", slug=slug))
    read = scenario_service.outcomes(scenario)  # refuses a scenario whose data changed (DomainError)
    form = ApplyForm()
    if request.method == "GET":
        for outcome, text in DEFAULT_MOTIVATIONS.items():
            getattr(form, f"motivation_{outcome.value}").data = str(text)
    decided = [row for row, _o, _a in read.lines if row.decision is not None]
    if form.validate_on_submit():
        motivations = {o: getattr(form, f"motivation_{o.value}").data or "" for o in DecisionOutcome}
        try:
            recorded = scenario_service.apply(scenario, motivations, by=current_user,
                                              payment_terms=PaymentTerms(form.payment_terms.data or "unique"),
                                              correction_reason=form.correction_reason.data or "")
            db.session.commit()
        except DomainError as exc:
            show_on_form(exc, form)
        else:
            flash(_("Le scénario « %(name)s » est appliqué : %(n)s décisions enregistrées. Elles seront notifiées "
                    "quand vous le demanderez.", name=scenario.name, n=len(recorded)), "success")
            return redirect(url_for("admin.call_decisions", slug=slug))
    laureates = [a for _r, o, a in read.lines if o == DecisionOutcome.LAUREATE]
    return render_template("admin/scenario_apply.html", call=call, scenario=scenario, form=form, lines=read.lines,
                           decided=decided, total=sum(laureates, start=0), region_name=region_name,
                           not_ready=scenario_service.not_ready(read),
                           outcomes=list(DecisionOutcome)), 200 if request.method == "GET" else 422
