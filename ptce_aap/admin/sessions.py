"""The committee's sessions, admin side: a call's sessions (/admin/appels/<slug>/seances, with the form of a
new one), a session's page (/admin/seances/<id>: date and place, the institutions convened with the quorum,
the agenda in discussion order, the decisions taken in the session, its procès-verbal), the attendance form,
the agenda's changes (add, remove, move up or down), the minutes asked for (made by a job) and downloaded (admins
only). Each change goes through ``services.committee`` (``services.minutes`` for the PDF), then commit."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from ptce_aap.admin import forms
from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.decision_forms import AttendanceForm, SessionForm, parse_day
from ptce_aap.admin.decisions import envelope
from ptce_aap.domain.money import ascii_int
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.i18n import translate
from ptce_aap.models.accounts import Institution
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import CommitteeAttendance, CommitteeSession, Decision
from ptce_aap.models.dossiers import Dossier
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import committee
from ptce_aap.services import minutes as minutes_service
from ptce_aap.storage import get_storage
from ptce_aap.web import domain_errors, load_or_404, settle, show_on_form

SESSION_PAGE = (joinedload(CommitteeSession.call),
                selectinload(CommitteeSession.attendance).joinedload(CommitteeAttendance.institution))


def _load(session_id: int) -> CommitteeSession:
    session = load_or_404(CommitteeSession, session_id, options=SESSION_PAGE)
    require(can_manage_call(current_user, session.call))
    return session


def _details(form: SessionForm):
    """(date, place) typed; a date that cannot be read is said beside its field."""
    try:
        held_on = parse_day(form.held_on.data)
    except ValueError:
        form.held_on.errors = [*form.held_on.errors, _("Saisissez une date valide, par exemple 03/12/2026.")]
        held_on = None
    return held_on, form.place.data or ""


def _show(exc: DomainError, form: SessionForm) -> None:
    """The service's problems beside their fields, unless a field already says why it could not be read."""
    settle(exc)
    for name, message in exc.problems:
        field = getattr(form, name, None) if name else None
        if field is None:
            flash(translate(message), exc.category)
        elif not field.errors:
            field.errors = [*field.errors, translate(message)]


def _render_list(call: Call, form: SessionForm, status: int = 200):
    return render_template("admin/sessions.html", call=call, sessions=committee.sessions_of(call), form=form,
                           open=call.status in committee.SESSION_CALL_STATUSES), status


@bp.route("/appels/<slug>/seances", methods=["GET", "POST"])
def committee_sessions(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    if request.method == "GET":
        return _render_list(call, SessionForm(formdata=None))
    form = SessionForm()
    if not form.validate():
        return _render_list(call, form, 400)
    held_on, place = _details(form)
    try:
        session = committee.create_session(call, held_on=held_on, place=place, by=current_user)
    except DomainError as exc:
        _show(exc, form)
        return _render_list(call, form, 400)
    if form.held_on.errors:
        db.session.rollback()
        return _render_list(call, form, 400)
    db.session.commit()
    flash(_("La séance est créée : les institutions du vivier sont convoquées, cochez celles présentes."), "success")
    return redirect(url_for("admin.committee_session", session_id=session.id))


@bp.route("/seances/<int:session_id>")
def committee_session(session_id: int):
    session = _load(session_id)
    call = session.call
    agenda = committee.agenda_dossiers(session)
    on_agenda = {d.id for d in agenda}
    current = {d.dossier_id: d for d in db.session.scalars(sa.select(Decision).where(
        Decision.dossier_id.in_(on_agenda), Decision.is_current))} if on_agenda else {}
    candidates = db.session.execute(
        sa.select(Dossier.id, Dossier.pole_name).where(
            Dossier.call_id == call.id, Dossier.status.in_(committee.AGENDA_STATUSES), Dossier.id.not_in(on_agenda))
        .order_by(sa.func.lower(Dossier.pole_name), Dossier.id)).all()
    decisions = committee.session_decisions(session)
    return render_template(
        "admin/session.html", session=session, call=call, quorum=committee.quorum(session), agenda=agenda,
        current=current, candidates=candidates, decisions=decisions, session_total=committee.laureate_total(decisions),
        form=forms.ConfirmForm(), minutes_pending=minutes_service.minutes_pending(session), **envelope(call))


@bp.route("/seances/<int:session_id>/modifier", methods=["GET", "POST"])
def edit_committee_session(session_id: int):
    session = _load(session_id)
    if request.method == "GET":
        form = SessionForm(formdata=None, data={"held_on": session.held_on.isoformat(), "place": session.place})
        return render_template("admin/session_edit.html", session=session, call=session.call, form=form)
    form = SessionForm()
    if form.validate():
        held_on, place = _details(form)
        try:
            committee.update_session(session, held_on=held_on, place=place, by=current_user)
        except DomainError as exc:
            _show(exc, form)
        else:
            if not form.held_on.errors:
                db.session.commit()
                flash(_("La séance est modifiée."), "success")
                return redirect(url_for("admin.committee_session", session_id=session_id))
            db.session.rollback()
    return render_template("admin/session_edit.html", session=_load(session_id), call=session.call, form=form), 400


MAX_ID = 2**31 - 1


def _institution_id(text: str | None) -> int:
    """A row's institution id as posted; 0 (no institution has it) when it is not a plain id, so that the
    service says the row names no known institution."""
    return ascii_int(text, maximum=MAX_ID) or 0


def _attendance_page(session: CommitteeSession, form: AttendanceForm, status: int = 200):
    convened = {_institution_id(e.form.institution_id.data) for e in form.attendance.entries}
    institutions = db.session.scalars(sa.select(Institution).order_by(Institution.name)).all()
    names = {i.id: i.name for i in institutions}
    form.add_institution.choices = [("", _("Choisir une institution"))] + [
        (str(i.id), i.name) for i in institutions if i.id not in convened]
    return render_template("admin/session_attendance.html", session=session, call=session.call, form=form,
                           names=names), status


@bp.route("/seances/<int:session_id>/presences", methods=["GET", "POST"])
def committee_attendance(session_id: int):
    session = _load(session_id)
    if request.method == "GET":
        form = AttendanceForm(formdata=None)
        for row in session.attendance:
            form.attendance.append_entry({"institution_id": str(row.institution_id), "is_present": row.is_present,
                                          "attendees": row.attendees})
        return _attendance_page(session, form)
    form = AttendanceForm()
    if not form.validate():
        return _attendance_page(session, form, 400)
    action, _sep, index = request.form.get("row_action", "").partition(":")
    if action == "add":  # « Convoquer »: a row more, nothing saved yet
        if _institution_id(form.add_institution.data):
            form.attendance.append_entry({"institution_id": form.add_institution.data, "is_present": False})
            return _attendance_page(session, form)
        form.add_institution.errors = [*form.add_institution.errors, _("Choisissez l’institution à convoquer.")]
        return _attendance_page(session, form, 400)
    if action == "remove" and index.isascii() and index.isdigit():
        kept = [e.form.data for i, e in enumerate(form.attendance.entries) if i != int(index)]
        while form.attendance.entries:
            form.attendance.pop_entry()
        for data in kept:
            form.attendance.append_entry(data)
        return _attendance_page(session, form)
    rows = [committee.AttendanceInput(institution_id=_institution_id(e.form.institution_id.data),
                                      is_present=bool(e.form.is_present.data), attendees=e.form.attendees.data or "")
            for e in form.attendance.entries]
    try:
        committee.set_attendance(session, rows, by=current_user)
    except DomainError as exc:
        show_on_form(exc, _RowFields(form))
        return _attendance_page(_load(session_id), form, 400)
    db.session.commit()
    flash(_("Les présences sont enregistrées."), "success")
    return redirect(url_for("admin.committee_session", session_id=session_id) + "#presences")


class _RowFields:
    """``attendance-<i>-<field>`` problems found on the attendance form's rows (for ``show_on_form``)."""

    def __init__(self, form: AttendanceForm):
        self.fields = {f.name: f for e in form.attendance.entries for f in e.form}

    def __getattr__(self, name):
        return self.__dict__["fields"].get(name)


def _moved(ids: list[int], dossier_id: int, step: int) -> list[int]:
    ids = list(ids)
    if dossier_id in ids:
        i = ids.index(dossier_id)
        j = min(max(i + step, 0), len(ids) - 1)
        ids[i], ids[j] = ids[j], ids[i]
    return ids


@bp.route("/seances/<int:session_id>/ordre-du-jour", methods=["POST"])
@domain_errors(back=lambda session_id: url_for("admin.committee_session", session_id=session_id) + "#ordre-du-jour")
def committee_agenda(session_id: int):
    session = _load(session_id)
    form = forms.ConfirmForm()
    back = url_for("admin.committee_session", session_id=session_id) + "#ordre-du-jour"
    if not form.validate_on_submit():
        return redirect(back)
    action, _sep, value = request.form.get("action", "").partition(":")
    if action == "add":
        value = request.form.get("dossier_id", "")
    if not (value.isascii() and value.isdigit() and len(value) < 10):
        flash(_("Choisissez un dossier."), "error")
        return redirect(back)
    dossier_id, ids = int(value), list(session.agenda or [])
    if action == "add":
        ids.append(dossier_id)
    elif action == "remove":
        ids = [i for i in ids if i != dossier_id]
    elif action in ("up", "down"):
        ids = _moved(ids, dossier_id, -1 if action == "up" else 1)
    else:
        return redirect(back)
    committee.set_agenda(session, ids, by=current_user)
    db.session.commit()
    flash(_("L’ordre du jour est mis à jour."), "success")
    return redirect(back)


@bp.route("/seances/<int:session_id>/proces-verbal", methods=["POST"])
@domain_errors(back=lambda session_id: url_for("admin.committee_session", session_id=session_id) + "#proces-verbal")
def committee_minutes(session_id: int):
    session = _load(session_id)
    if forms.ConfirmForm().validate_on_submit():
        minutes_service.request_minutes(session, by=current_user)
        db.session.commit()
        flash(_("Le procès-verbal est en cours d’établissement à partir de ce qui est enregistré maintenant : "
                "rechargez la page dans quelques secondes."), "info")
    return redirect(url_for("admin.committee_session", session_id=session_id) + "#proces-verbal")


@bp.route("/seances/<int:session_id>/proces-verbal/telecharger")
def committee_minutes_pdf(session_id: int):
    session = _load(session_id)
    if not session.minutes_key:
        flash(_("Le procès-verbal n’a pas encore été établi."), "error")
        return redirect(url_for("admin.committee_session", session_id=session_id) + "#proces-verbal")
    url = get_storage().presigned_get(session.minutes_key, expires=60,
                                      filename=f"proces-verbal-{session.call.slug}-{session.held_on.isoformat()}.pdf",
                                      content_type="application/pdf")
    return redirect(url)
