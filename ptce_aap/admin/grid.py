"""The scoring grid editor of a call (SPEC §4): while the call is a draft and no review exists, the admin adds,
edits, reorders and deletes criteria (after a confirmation), or restores the default grid. Every change goes
through ``services.grid`` (checked, audited); a frozen grid is shown read-only with the reason."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.admin import forms
from ptce_aap.admin.blueprint import bp
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call, Criterion
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import grid as service
from ptce_aap.web import domain_errors, load_or_404, show_on_form


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    return call


def _criterion(call: Call, criterion_id: int) -> Criterion:
    return load_or_404(Criterion, criterion_id, call_id=call.id)


def _grid_url(slug: str, **_args) -> str:
    return url_for("admin.grid", slug=slug)


def _render(call: Call, form: forms.CriterionForm, *, editing: Criterion | None = None,
            deleting: Criterion | None = None, reset_confirm: bool = False, status: int = 200):
    frozen = service.frozen_reason(call)
    total = sum(c.weight for c in call.criteria)
    return render_template(
        "admin/grid.html", call=call, form=form, editing=editing, deleting=deleting, reset_confirm=reset_confirm, frozen=frozen,
        total_weight=total, scored=service.scored_criterion_ids(call), is_default=service.is_default(call),
        confirm_form=forms.ConfirmForm(), move_form=forms.MoveForm(), weight_max=service.WEIGHT_MAX,
        max_score_max=service.MAX_SCORE_MAX), status


@bp.route("/appels/<slug>/grille", methods=["GET", "POST"])
def grid(slug: str):
    """The grid; POST adds a criterion (the form again, with the error beside its field, when refused)."""
    call = _call(slug)
    form = forms.CriterionForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST":
        if not form.validate():
            return _render(call, form, status=400)
        try:
            criterion = service.add_criterion(call, form.values(), by=current_user)
        except DomainError as exc:
            show_on_form(exc, form)
            return _render(_call(slug), form, status=400)
        db.session.commit()
        flash(_("Le critère « %(label)s » a été ajouté à la grille.", label=criterion.label), "success")
        return redirect(url_for("admin.grid", slug=slug) + f"#critere-{criterion.id}")
    return _render(call, form)


@bp.route("/appels/<slug>/grille/<int:criterion_id>", methods=["GET", "POST"])
def grid_edit(slug: str, criterion_id: int):
    call = _call(slug)
    criterion = _criterion(call, criterion_id)
    if request.method == "GET":
        form = forms.CriterionForm(formdata=None, data={
            "code": criterion.code, "label": criterion.label, "guidance": criterion.guidance,
            "weight": str(criterion.weight), "max_score": str(criterion.max_score)})
        return _render(call, form, editing=criterion)
    form = forms.CriterionForm()
    if not form.validate():
        return _render(call, form, editing=criterion, status=400)
    try:
        changed = service.update_criterion(criterion, form.values(), by=current_user)
    except DomainError as exc:
        show_on_form(exc, form)
        call = _call(slug)
        return _render(call, form, editing=_criterion(call, criterion_id), status=400)
    db.session.commit()
    flash(_("Le critère « %(label)s » a été enregistré.", label=criterion.label) if changed
          else _("Aucune modification à enregistrer."), "success" if changed else "info")
    return redirect(url_for("admin.grid", slug=slug) + f"#critere-{criterion.id}")


@bp.route("/appels/<slug>/grille/<int:criterion_id>/deplacer", methods=["POST"])
@domain_errors(back=_grid_url)
def grid_move(slug: str, criterion_id: int):
    call = _call(slug)
    criterion = _criterion(call, criterion_id)
    form = forms.MoveForm()
    if form.validate_on_submit():
        service.move_criterion(criterion, -1 if form.direction.data == "haut" else 1, by=current_user)
        db.session.commit()
    return redirect(url_for("admin.grid", slug=slug) + f"#critere-{criterion.id}")


@bp.route("/appels/<slug>/grille/<int:criterion_id>/supprimer", methods=["GET", "POST"])
@domain_errors(back=_grid_url)
def grid_delete(slug: str, criterion_id: int):
    """GET: the grid with a confirmation box. POST: delete (refused for a frozen grid or a scored criterion)."""
    call = _call(slug)
    criterion = _criterion(call, criterion_id)
    form = forms.ConfirmForm()
    if request.method == "GET":
        return _render(call, forms.CriterionForm(formdata=None), deleting=criterion)
    if form.validate_on_submit():
        label = criterion.label
        service.delete_criterion(criterion, by=current_user)
        db.session.commit()
        flash(_("Le critère « %(label)s » a été supprimé de la grille.", label=label), "success")
    return redirect(url_for("admin.grid", slug=slug))


@bp.route("/appels/<slug>/grille/defaut", methods=["GET", "POST"])
@domain_errors(back=_grid_url)
def grid_reset(slug: str):
    """GET: the grid with a confirmation box. POST: replace the grid by the SPEC §4 default."""
    call = _call(slug)
    if request.method == "GET":
        return _render(call, forms.CriterionForm(formdata=None), reset_confirm=True)
    if forms.ConfirmForm().validate_on_submit():
        service.reset_to_default(call, by=current_user)
        db.session.commit()
        flash(_("La grille par défaut a été rétablie."), "success")
    return redirect(url_for("admin.grid", slug=slug))
