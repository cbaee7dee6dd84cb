"""The secretariat's calls: the list, a new call, a call's settings (everything while a draft, then only the
deadline, and the signatory of the decision letters until the results are published), a copy of a past call, and each status change after a confirmation. Every view requires the
admin role (the blueprint's gate) and ``can_manage_call``."""

from __future__ import annotations

import math
from decimal import Decimal

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ptce_aap.admin import forms
from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.call_forms import CallForm, DeadlineForm, SignatoryForm, parse_into
from ptce_aap.domain.call_settings import parse_paris, settings_problems, split_paris
from ptce_aap.domain.eligibility import CATALOG
from ptce_aap.domain.rules_text import explain_rules
from ptce_aap.enums import CALL_TRANSITIONS, CallStatus, DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.formatting import format_eur, format_paris
from ptce_aap.markdown import render_markdown
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import calls as call_service
from ptce_aap.web import domain_errors, load_or_404, page_arg, settle

PER_PAGE = 25
DEADLINE_FIELDS = {"csrf_token", "closes_at", "closes_at_time"}
ADDABLE = {"add_category": "categories", "add_document_type": "document_types"}
REMOVABLE = {"remove_category": "categories", "remove_document_type": "document_types"}
# The button that leads to each status, on the call's page and its confirmation.
STATUS_ACTIONS = {
    CallStatus.OPEN: _l("Ouvrir l’appel"), CallStatus.CLOSED: _l("Clore l’appel"),
    CallStatus.REVIEW: _l("Lancer l’instruction"), CallStatus.DELIBERATION: _l("Passer en délibération"),
    CallStatus.PUBLISHED: _l("Publier les résultats"), CallStatus.ARCHIVED: _l("Archiver l’appel"),
}


@bp.route("/appels")
def calls():
    require(can_manage_call(current_user, None))
    total = db.session.scalar(sa.select(sa.func.count(Call.id))) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page_arg(), pages)
    rows = db.session.scalars(sa.select(Call).order_by(Call.created_at.desc(), Call.id.desc())
                              .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    counts = {call_id: (drafts, submitted) for call_id, drafts, submitted in db.session.execute(
        sa.select(Dossier.call_id,
                  sa.func.count(Dossier.id).filter(Dossier.status == DossierStatus.DRAFT),
                  sa.func.count(Dossier.id).filter(Dossier.status != DossierStatus.DRAFT))
        .where(Dossier.call_id.in_([c.id for c in rows])).group_by(Dossier.call_id))}
    return render_template("admin/calls.html", calls=rows, counts=counts, total=total, page=page, pages=pages)


# --- the form --------------------------------------------------------------------------------------------

def _rules_explained(call: Call | None, values: dict) -> dict[str, str]:
    """Each rule's French explanation, whatever its mode (the page explains also those switched off)."""
    settings = {rule.code: {**(values.get("eligibility_settings") or {}).get(rule.code, {}), "mode": "blocking"}
                for rule in CATALOG}
    cap, share, closes_at = values.get("max_amount_eur"), values.get("max_state_share"), values.get("closes_at")
    texts = explain_rules(settings, max_amount_eur=cap or 0, max_state_share=share or Decimal("0.5"),
                          closes_at=closes_at, gettext=_,
                          format_amount=format_eur if cap else lambda _v: _("le montant maximal par dossier"),
                          format_datetime=format_paris if closes_at else lambda _v: _("la date limite de dépôt"))
    return {t.code: t.text for t in texts}


def _render(form, *, mode: str, call: Call | None = None, source: Call | None = None, values: dict | None = None,
            status: int = 200, signatory: SignatoryForm | None = None):
    values = values or {}
    missing = call_service.missing_for_opening(call) if call is not None and call.status == CallStatus.DRAFT \
        else []
    transitions = sorted(CALL_TRANSITIONS[call.status], key=list(CallStatus).index) if call is not None else []
    if mode == "readonly" and signatory is None and call_service.signatory_editable(call):
        signatory = SignatoryForm(formdata=None, data={"signatory_name": call.signatory_name or "",
                                                       "signatory_title": call.signatory_title or ""})
    return render_template(
        "admin/call_form.html", form=form, mode=mode, call=call, source=source, missing=missing,
        signatory=signatory if mode == "readonly" and call_service.signatory_editable(call) else None,
        transitions=transitions, status_actions=STATUS_ACTIONS,
        rules=CATALOG, explained=_rules_explained(call, values), focus=request.form.get("row_action", ""),
        preview=render_markdown(values.get("description_md"))), status


def _row_action(form: CallForm) -> bool:
    """« Ajouter une ligne » / « Retirer la ligne n » without JavaScript: the form again, nothing saved,
    nothing typed lost. Returns whether there was such an action."""
    action, _sep, index = request.form.get("row_action", "").partition(":")
    if action in ADDABLE:
        form[ADDABLE[action]].append_entry()
        return True
    if action in REMOVABLE and index.isascii() and index.isdigit():
        rows = form[REMOVABLE[action]]
        kept = [e.form.data for i, e in enumerate(rows.entries) if i != int(index)]
        while rows.entries:
            rows.pop_entry()
        for data in kept:
            rows.append_entry(data)
        return True
    return False


def _checked(form: CallForm, *, except_id: int | None = None) -> dict | None:
    """The form's values when every field is acceptable, else ``None`` with every problem beside its field.
    A short address left empty is made from the title, free among the calls."""
    values = form.read()
    if not (form.slug.data or "").strip() and values["title"]:
        values["slug"] = call_service.free_slug(values["title"], except_id=except_id)
    for message in form.show(settings_problems(values)):
        flash(message, "error")
    return None if form.has_errors() else values


def _saved(form: CallForm, save) -> Call | None:
    """``save()`` (a service call) committed; a refusal shown beside its field, the form kept as typed."""
    try:
        call = save()
    except DomainError as exc:  # the form again, what was typed kept, the message beside its field
        settle(exc)
        for message in form.show({field or "": message for field, message in reversed(exc.problems)}):
            flash(message, "error")
        return None
    db.session.commit()
    return call


@bp.route("/appels/nouveau", methods=["GET", "POST"])
def new_call():
    require(can_manage_call(current_user, None))
    if request.method == "GET":
        form = CallForm(formdata=None)
        form.fill(call_service.default_values())
        return _render(form, mode="new")
    form = CallForm()
    if not form.validate() or _row_action(form) or (values := _checked(form)) is None:
        return _render(form, mode="new", values=form.read(), status=200 if request.form.get("row_action") else 400)
    call = _saved(form, lambda: call_service.new_call(values, by=current_user))
    if call is None:
        return _render(form, mode="new", values=values, status=400)
    flash(_("L’appel à projets « %(title)s » a été créé en brouillon.", title=call.title), "success")
    return redirect(url_for("admin.edit_call", slug=call.slug))


@bp.route("/appels/<slug>/parametres", methods=["GET", "POST"])
def edit_call(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    values = call_service.call_values(call)
    if call.status != CallStatus.DRAFT:
        return _edit_deadline(call, values)
    if request.method == "GET":
        form = CallForm(formdata=None)
        form.fill(values)
        return _render(form, mode="edit", call=call, values=values)
    form = CallForm()
    if not form.validate() or _row_action(form) or (typed := _checked(form, except_id=call.id)) is None:
        return _render(form, mode="edit", call=call, values=form.read(),
                       status=200 if request.form.get("row_action") else 400)
    def save():
        call_service.update_call(call, typed, by=current_user)
        return call

    saved = _saved(form, save)
    if saved is None:
        return _render(form, mode="edit", call=load_or_404(Call, slug=slug), values=typed, status=400)
    flash(_("Les paramètres de l’appel à projets ont été enregistrés."), "success")
    return redirect(url_for("admin.edit_call", slug=call.slug))


def _edit_deadline(call: Call, values: dict):
    """An open (or later) call: its settings read-only, its deadline movable while open or closed."""
    form = DeadlineForm(formdata=None if request.method == "GET" else request.form)
    if request.method == "GET":
        form.closes_at.data, form.closes_at_time.data = split_paris(call.closes_at)
        return _render(form, mode="readonly", call=call, values=values)
    valid = form.validate()
    closes_at = parse_into(form.closes_at, parse_paris, form.closes_at.data, form.closes_at_time.data)
    changes = {"closes_at": closes_at}
    if set(request.form) - DEADLINE_FIELDS:  # a settings page opened before the call did: the service decides
        changes = {k: v for k, v in CallForm().read().items() if v is not None} | changes
    if valid and not form.closes_at.errors:
        moved = _saved(form, lambda: call_service.update_call(call, changes, by=current_user))
        if moved is not None:
            flash(_("La date limite de dépôt a été modifiée ; les porteurs qui ont un brouillon en sont informés "
                    "par courriel.") if "closes_at" in moved else _("Le signataire des lettres de décision a été "
                    "enregistré.") if moved else _("La date limite de dépôt n’a pas changé."), "success")
            return redirect(url_for("admin.edit_call", slug=call.slug))
    return _render(form, mode="readonly", call=load_or_404(Call, slug=call.slug), values=values, status=400)


@bp.route("/appels/<slug>/signataire", methods=["POST"])
def call_signatory(slug: str):
    """The signatory of the decision letters of a call that has left draft: the settings page again with the
    problems beside the fields and what was typed, or saved until the results are published."""
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    if call.status == CallStatus.DRAFT:  # a draft's signatory is one of its settings (the full form)
        abort(404)
    form = SignatoryForm()
    if form.validate():
        typed = form.read()
        changed = _saved(form, lambda: call_service.set_signatory(call, typed["signatory_name"],
                                                                  typed["signatory_title"], by=current_user))
        if changed is not None:
            flash(_("Le signataire des lettres de décision a été enregistré.") if changed
                  else _("Le signataire des lettres de décision n’a pas changé."), "success")
            return redirect(url_for("admin.edit_call", slug=slug))
    call = load_or_404(Call, slug=slug)
    deadline = DeadlineForm(formdata=None)
    deadline.closes_at.data, deadline.closes_at_time.data = split_paris(call.closes_at)
    return _render(deadline, mode="readonly", call=call, values=call_service.call_values(call), status=400,
                   signatory=form)


@bp.route("/appels/<slug>/dupliquer", methods=["GET", "POST"])
def duplicate_call(slug: str):
    source = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, source))
    if request.method == "GET":
        form = CallForm(formdata=None)
        form.fill(call_service.duplicate_values(source))
        return _render(form, mode="duplicate", source=source)
    form = CallForm()
    if not form.validate() or _row_action(form) or (values := _checked(form)) is None:
        return _render(form, mode="duplicate", source=source, values=form.read(),
                       status=200 if request.form.get("row_action") else 400)
    call = _saved(form, lambda: call_service.duplicate_call(source, values, by=current_user))
    if call is None:
        return _render(form, mode="duplicate", source=load_or_404(Call, slug=slug), values=values, status=400)
    flash(_("La copie « %(title)s » a été créée en brouillon, avec la grille, les catégories et les pièces de "
            "l’appel d’origine.", title=call.title), "success")
    return redirect(url_for("admin.edit_call", slug=call.slug))


# --- status ----------------------------------------------------------------------------------------------

@bp.route("/appels/<slug>/statut/<to>", methods=["GET", "POST"])
@domain_errors(back=lambda slug, to: url_for("admin.edit_call", slug=slug))
def call_status(slug: str, to: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    if to not in {s.value for s in CallStatus} or CallStatus(to) not in CALL_TRANSITIONS[call.status]:
        abort(404)
    target = CallStatus(to)
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        call_service.set_call_status(call, target, by=current_user)
        db.session.commit()
        flash(_("L’appel à projets est désormais : %(status)s.", status=target.label), "success")
        return redirect(url_for("admin.edit_call", slug=call.slug))
    missing = call_service.missing_for_opening(call) if target == CallStatus.OPEN else []
    unreviewed = call_service.not_yet_reviewed(call) if target == CallStatus.DELIBERATION else 0
    return render_template("admin/call_status.html", call=call, target=target, form=form, missing=missing,
                           action=STATUS_ACTIONS[target], unreviewed=unreviewed)
