"""Applicant (porteur) pages: dashboard, new dossier, summary, section editing with autosave."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ptce_aap.applicants import bp, forms, sections
from ptce_aap.domain import dossier_checks
from ptce_aap.enums import DossierStatus, Role
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db, limiter
from ptce_aap.i18n import PARIS, format_paris
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, DossierTransition, Pole, PoleMembership
from ptce_aap.permissions import (
    blueprint_role_gate,
    can_edit_dossier,
    can_manage_pole,
    can_view_dossier,
    is_pole_member,
    require,
)
from ptce_aap.services import coeditors
from ptce_aap.services import dossiers as dossier_service
from ptce_aap.services import eligibility as eligibility_service
from ptce_aap.services import submission as submission_service

blueprint_role_gate(bp, Role.APPLICANT)


def load_dossier(dossier_id: int, *, full: bool = False) -> Dossier:
    """The dossier, if the current user may see it (404 otherwise, also for others' dossiers)."""
    query = sa.select(Dossier).where(Dossier.id == dossier_id)
    if full:
        query = query.options(
            selectinload(Dossier.members), selectinload(Dossier.financing_lines),
            selectinload(Dossier.attachments),
            selectinload(Dossier.transitions).joinedload(DossierTransition.actor),
            selectinload(Dossier.call).selectinload(Call.document_types),
            selectinload(Dossier.call).selectinload(Call.categories),
        )
    dossier = db.session.scalar(query)
    if dossier is None:
        abort(404)
    require(can_view_dossier(current_user, dossier))
    return dossier


def checks_for(dossier: Dossier) -> list[dossier_checks.Problem]:
    return dossier_checks.check_dossier(dossier, dossier_service.call_rules(dossier.call),
                                        today=utcnow().astimezone(PARIS).date())


@bp.route("/")
def dashboard():
    rows = db.session.execute(
        sa.select(Dossier, Call)
        .join(Call, Call.id == Dossier.call_id)
        .join(PoleMembership, PoleMembership.pole_id == Dossier.pole_id)
        .where(PoleMembership.user_id == current_user.id)
        .options(selectinload(Dossier.transitions).joinedload(DossierTransition.actor))
        .order_by(Dossier.updated_at.desc())
    ).all()
    return render_template("applicants/dashboard.html", rows=rows)


@bp.route("/appels/<slug>/nouveau", methods=["GET", "POST"])
def new_dossier(slug: str):
    call = db.first_or_404(sa.select(Call).where(Call.slug == slug))
    if not dossier_service.accepts_submissions(call, utcnow()):
        flash(_("Cet appel à projets n'accepte pas de nouveau dossier."), "error")
        return redirect(url_for("public.call", slug=call.slug))
    poles = db.session.scalars(
        sa.select(Pole).join(PoleMembership).where(PoleMembership.user_id == current_user.id).order_by(Pole.name)
    ).all()
    existing = {d.pole_id: d for d in db.session.scalars(
        sa.select(Dossier).where(Dossier.call_id == call.id, Dossier.pole_id.in_([p.id for p in poles])))}
    form = forms.NewDossierForm()
    form.pole_id.choices = [("", _("Un nouveau pôle"))] + [
        (str(p.id), p.name) for p in poles if p.id not in existing]
    if form.validate_on_submit():
        pole = next((p for p in poles if str(p.id) == form.pole_id.data and p.id not in existing), None)
        try:
            dossier = dossier_service.start_dossier(call, pole_name=form.pole_name.data or "", by=current_user,
                                                    pole=pole)
        except DomainError as exc:
            db.session.rollback()
            if exc.field:
                getattr(form, exc.field).errors.append(exc.message)
            else:
                flash(exc.message, "error")
        else:
            try:
                db.session.commit()
            except IntegrityError:  # the same pole's dossier created twice at once (double click)
                db.session.rollback()
                twin = db.session.scalar(sa.select(Dossier).where(Dossier.call_id == call.id,
                                                                  Dossier.pole_id == getattr(pole, "id", None)))
                if twin is None:
                    raise
                return redirect(url_for("applicants.dossier", dossier_id=twin.id))
            flash(_("Le dossier a été créé. Vous pouvez le remplir en plusieurs fois : chaque section est "
                    "enregistrée automatiquement."), "success")
            return redirect(url_for("applicants.dossier", dossier_id=dossier.id))
    return render_template("applicants/new_dossier.html", call=call, form=form, existing=list(existing.values()))


@bp.route("/dossiers/<int:dossier_id>")
def dossier(dossier_id: int):
    d = load_dossier(dossier_id, full=True)
    problems = checks_for(d)
    by_section: dict[str, list] = {code: [] for code, _label in dossier_checks.SECTIONS}
    for problem in problems:
        by_section[problem.section].append(problem)
    return render_template(
        "applicants/dossier.html", dossier=d, call=d.call, problems=problems, by_section=by_section,
        states=dossier_checks.section_states(problems), sections=sections.section_list(),
        can_edit=can_edit_dossier(current_user, d), totals=dossier_checks.totals(d.financing_lines),
        can_withdraw=submission_service.can_withdraw(d), eligibility=eligibility_service.applicant_view(d),
        can_manage=can_manage_pole(current_user, d.pole), editors=coeditors.editors(d.pole_id),
        invitations=coeditors.pending_invitations(d.pole_id), invite_form=forms.InviteForm(
            formdata=None, data={"email": request.args.get("invite", "")}), confirm_form=forms.ConfirmForm(),
    )


def _form_for(section: str, d: Dossier, formdata=None):
    form_cls = sections.SECTION_FORMS[section]
    if formdata is None:
        form = form_cls(formdata=None, data=sections.initial_data(section, d))
    else:
        form = form_cls(formdata=formdata)
    if section == "budget":
        form.category_code.choices = [("", _("— Choisir —"))] + [(c.code, c.label) for c in d.call.categories]
    return form


def _apply(section: str, d: Dossier, form) -> None:
    expected = form.expected_version()
    if section == "membres":
        rows = sections.member_rows(form)
        dossier_service.replace_members(d, rows, by=current_user, expected_version=expected)
    elif section == "budget":
        dossier_service.save_fields(d, sections.scalar_values(section, form), by=current_user,
                                    expected_version=expected)
        dossier_service.replace_financing_lines(d, sections.financing_rows(form), by=current_user,
                                                expected_version=None)
    else:
        values = sections.scalar_values(section, form)
        dossier_service.save_fields(d, values, by=current_user, expected_version=expected)


ROW_ACTIONS = {"membres": ("members", "add_member"), "budget": None}


ADDABLE = {"membres": {"add_member": "members"}, "budget": {"add_expense": "expenses", "add_resource": "resources"}}


def _handle_row_actions(section: str, form) -> str | bool:
    """Table rows without JavaScript: returns the list to give an empty row to ("add_…", shown after the
    save, since empty rows are not stored), True when a row was removed, False otherwise."""
    action = request.form.get("row_action", "")
    target, _sep, index = action.partition(":")
    if target in ADDABLE.get(section, {}):
        return ADDABLE[section][target]
    removable = {"remove_member": "members", "remove_expense": "expenses", "remove_resource": "resources"}
    if target in removable and index.isdigit() and hasattr(form, removable[target]):
        field_list = getattr(form, removable[target])
        entries = [e for i, e in enumerate(field_list.entries) if i != int(index)]
        data = [e.form.data for e in entries]
        while field_list.entries:
            field_list.pop_entry()
        for row in data:
            field_list.append_entry(row)
        return True
    return False


@bp.route("/dossiers/<int:dossier_id>/<any(identite, membres, activites, projet, budget):section>",
          methods=["GET", "POST"])
def edit_section(dossier_id: int, section: str):
    d = load_dossier(dossier_id, full=True)
    autosave = request.headers.get("X-Autosave") == "1"
    if not can_edit_dossier(current_user, d):
        if autosave:
            return jsonify({"ok": False, "message": _("Ce dossier n'est plus modifiable.")}), 409
        if request.method == "GET":  # read-only: the fields are shown, disabled
            return _render_section(section, d, _form_for(section, d), readonly=True)
        flash(_("Ce dossier a été déposé : il n'est plus modifiable."), "info")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    if request.method == "GET":
        form = _form_for(section, d)
        return _render_section(section, d, form)
    form = _form_for(section, d, formdata=request.form)
    form.validate()  # lenient fields clean themselves; nothing here blocks saving a draft
    row_changed = _handle_row_actions(section, form)
    try:
        _apply(section, d, form)
        db.session.commit()
    except (dossier_service.EditConflict, StaleDataError):
        db.session.rollback()
        d = load_dossier(dossier_id, full=True)
        if autosave:
            return jsonify({"ok": False, "conflict": True, "message": _(
                "Ce dossier a été modifié ailleurs. L'enregistrement automatique est suspendu : cliquez sur "
                "« Enregistrer » pour comparer les versions.")}), 409
        return _render_conflict(section, d, form)
    except DomainError as exc:
        db.session.rollback()
        if autosave:
            return jsonify({"ok": False, "message": exc.message}), 409
        flash(exc.message, "error")
        return _render_section(section, d, form), 409
    if autosave:
        return jsonify({"ok": True, "version": d.version,
                        "saved_at": _("Enregistré automatiquement : %(time)s", time=format_paris(d.updated_at))})
    if isinstance(row_changed, str):  # the saved section, with what was typed (blank rows too) and one more row
        form.version.data = str(d.version)
        getattr(form, row_changed).append_entry()
        return _render_section(section, d, form, focus=f"{row_changed}-{len(getattr(form, row_changed)) - 1}")
    if row_changed:
        return redirect(url_for("applicants.edit_section", dossier_id=d.id, section=section) + "#tableau")
    left = [p for p in checks_for(d) if p.section == section]
    if left:
        flash(ngettext("Section enregistrée. Il reste %(num)d point à compléter ou corriger.",
                       "Section enregistrée. Il reste %(num)d points à compléter ou corriger.", len(left)), "warning")
    else:
        flash(_("Section enregistrée."), "success")
    if request.form.get("then") == "summary":
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    return redirect(url_for("applicants.edit_section", dossier_id=d.id, section=section))


def _render_section(section: str, d: Dossier, form, conflict: list | None = None, focus: str | None = None,
                    readonly: bool = False):
    problems = [p for p in checks_for(d) if p.section == section]
    if not readonly:
        _attach_problems(form, problems)
    return render_template(
        f"applicants/section_{section}.html", dossier=d, call=d.call, form=form, section=section,
        section_label=sections.SECTION_TITLES[section], problems=problems, limits=dossier_checks.LIMITS,
        conflict=conflict, totals=dossier_checks.totals(d.financing_lines), focus=focus, readonly=readonly)


def _attach_problems(form, problems) -> None:
    """Show each invalid value next to its field (in red, with its message), not only in the list."""
    fields = {field.id: field for field in form}
    for entry_list in (getattr(form, name, None) for name in ("members", "expenses", "resources")):
        for entry in entry_list or []:
            fields.update({sub.id: sub for sub in entry.form})
    for problem in problems:
        field = fields.get(problem.field)
        if field is not None and problem.kind == "invalid" and problem.message not in field.errors:
            field.errors = [*field.errors, problem.message]


def _render_conflict(section: str, d: Dossier, mine):
    """Both versions of each field that differs; the user's form keeps what they typed."""
    theirs = _form_for(section, d)
    mine_values = sections.comparable(section, mine.data)
    their_values = sections.comparable(section, theirs.data)
    differing = []
    for key, value in mine_values.items():
        if their_values.get(key) != value:
            label = getattr(getattr(mine, key, None), "label", None)
            differing.append({"field": key, "label": label.text if label else key,
                              "mine": _display(mine.data.get(key)), "theirs": _display(theirs.data.get(key))})
    mine.version.data = str(d.version)  # saving again now deliberately replaces the other version
    return _render_section(section, d, mine, conflict=differing), 409


def _display(value) -> str:
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return "; ".join(" / ".join(str(v) for k, v in row.items() if v not in ("", None) and k != "csrf_token")
                             for row in value) or "—"
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    return str(value) if value not in (None, "") else "—"


@bp.route("/dossiers/<int:dossier_id>/deposer", methods=["GET", "POST"])
def submit(dossier_id: int):
    from ptce_aap.services import submission

    d = load_dossier(dossier_id, full=True)
    if d.status != DossierStatus.DRAFT:
        flash(_("Ce dossier a déjà été déposé."), "info")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    require(can_edit_dossier(current_user, d))
    now = utcnow()
    problems = submission.blocking_problems(d, now=now)
    late = now >= d.call.closes_at
    form = forms.ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            submission.submit_dossier(d, by=current_user, now=utcnow())
            db.session.commit()
        except submission.AlreadySubmitted as exc:
            db.session.rollback()
            flash(exc.message, "info")
            return redirect(url_for("applicants.dossier", dossier_id=dossier_id))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("applicants.submit", dossier_id=dossier_id))
        flash(_("Votre dossier a été déposé. Récépissé n° %(n)s : il vous est aussi envoyé par courriel.",
                n=d.receipt_number), "success")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    advice = [] if problems else [r for r in eligibility_service.live_advice(d, now=now).failed
                                  if r.code != "deadline"]
    return render_template("applicants/submit.html", dossier=d, call=d.call, problems=problems, late=late,
                           form=form, sections=dict(sections.section_list()), advice=advice)


@bp.route("/dossiers/<int:dossier_id>/recepisse")
def receipt(dossier_id: int):
    from ptce_aap.storage import get_storage

    d = load_dossier(dossier_id)
    if not d.receipt_key:
        flash(_("Le récépissé est en cours de préparation : réessayez dans quelques instants."), "info")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    url = get_storage().presigned_get(d.receipt_key, expires=120, filename=f"recepisse-{d.receipt_number}.pdf",
                                      content_type="application/pdf")
    return redirect(url)


@bp.route("/dossiers/<int:dossier_id>/retrait", methods=["GET", "POST"])
def withdraw(dossier_id: int):
    from ptce_aap.services import submission

    d = load_dossier(dossier_id)
    require(is_pole_member(current_user, d.pole_id))
    if not submission.can_withdraw(d):
        flash(_("Ce dossier ne peut pas être retiré."), "error")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    form = forms.WithdrawForm()
    if form.validate_on_submit():
        submission.withdraw_dossier(d, by=current_user, reason=form.reason.data or "")
        db.session.commit()
        flash(_("Le dossier a été retiré. Il ne sera pas examiné par le comité."), "success")
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    return render_template("applicants/withdraw.html", dossier=d, form=form)


@bp.route("/dossiers/<int:dossier_id>/coediteurs", methods=["POST"])
@limiter.limit("20 per hour", key_func=lambda: f"invite:{current_user.id}")
def invite_coeditor(dossier_id: int):
    from ptce_aap.services import coeditors

    d = load_dossier(dossier_id)
    require(can_manage_pole(current_user, d.pole), hide=False)
    form = forms.InviteForm()
    if not form.validate_on_submit():
        flash(_("Saisissez l'adresse électronique de la personne à inviter."), "error")
        return redirect(url_for("applicants.dossier", dossier_id=d.id) + "#coediteurs")
    try:
        coeditors.invite(d.pole, form.email.data, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("applicants.dossier", dossier_id=d.id, invite=form.email.data) + "#coediteurs")
    db.session.commit()
    flash(_("Invitation envoyée à %(email)s.", email=form.email.data.strip()), "success")
    return redirect(url_for("applicants.dossier", dossier_id=d.id) + "#coediteurs")


@bp.route("/dossiers/<int:dossier_id>/coediteurs/<int:user_id>/retirer", methods=["POST"])
def remove_coeditor(dossier_id: int, user_id: int):
    from ptce_aap.services import coeditors

    d = load_dossier(dossier_id)
    require(can_manage_pole(current_user, d.pole), hide=False)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        coeditors.remove(d.pole, user_id, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("La personne a été retirée des éditeurs du dossier."), "success")
    return redirect(url_for("applicants.dossier", dossier_id=d.id) + "#coediteurs")


@bp.route("/dossiers/<int:dossier_id>/invitations/<int:invitation_id>/annuler", methods=["POST"])
def cancel_invitation(dossier_id: int, invitation_id: int):
    from ptce_aap.services import coeditors

    d = load_dossier(dossier_id)
    require(can_manage_pole(current_user, d.pole), hide=False)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        invitation = coeditors.cancel(d.pole, invitation_id, by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("L'invitation envoyée à %(email)s est annulée.", email=invitation.email), "success")
    return redirect(url_for("applicants.dossier", dossier_id=d.id) + "#coediteurs")


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    from ptce_aap.services import coeditors

    try:
        invitation = coeditors.read_invitation(token)
    except DomainError as exc:
        return render_template("applicants/invitation.html", error=exc.message, invitation=None, form=None), 400
    pole = db.session.get(Pole, invitation.pole_id)
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        try:
            coeditors.accept(token, user=current_user)
        except DomainError as exc:
            db.session.rollback()
            return render_template("applicants/invitation.html", error=exc.message, invitation=invitation,
                                   pole=pole, form=None), 403
        db.session.commit()
        flash(_("Vous pouvez désormais compléter les dossiers du pôle « %(name)s ».", name=pole.name), "success")
        return redirect(url_for("applicants.dashboard"))
    return render_template("applicants/invitation.html", invitation=invitation, pole=pole, form=form, error=None)
