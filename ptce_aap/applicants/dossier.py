"""Applicant pages of one dossier: its summary, and each section's form (saved by autosave or the button,
with the other version shown beside on a conflict)."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError

from ptce_aap.applicants import drafts, forms, merge, sections
from ptce_aap.applicants._common import SUMMARY, checks_for, viewable_dossier
from ptce_aap.applicants.blueprint import bp
from ptce_aap.domain import dossier_checks
from ptce_aap.domain.money import ascii_int
from ptce_aap.domain.sections import BY_CODE, SECTION_CODES
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.fields import choice_errors
from ptce_aap.formatting import format_paris
from ptce_aap.i18n import translate
from ptce_aap.models.dossiers import Dossier
from ptce_aap.permissions import can_edit_dossier, can_manage_pole, can_read_decision_letter, open_request
from ptce_aap.services import coeditors, decision_letters
from ptce_aap.services import dossiers as dossier_service
from ptce_aap.services import eligibility as eligibility_service
from ptce_aap.services import messages as message_service
from ptce_aap.web import autosave_rate_limited, domain_error_response, show_on_form


@bp.route("/dossiers/<int:dossier_id>")
def dossier(dossier_id: int):
    d = viewable_dossier(dossier_id, full=True, options=SUMMARY)
    problems = checks_for(d)
    by_section: dict[str, list] = {code: [] for code in SECTION_CODES}
    for problem in problems:
        by_section[problem.section].append(problem)
    return render_template(
        "applicants/dossier.html", dossier=d, call=d.call, problems=problems, by_section=by_section,
        states=dossier_checks.section_states(problems), sections=sections.section_list(),
        can_edit=can_edit_dossier(current_user, d), totals=dossier_checks.totals(d.financing_lines),
        thread=message_service.thread(d), open_request=open_request(d),
        eligibility=eligibility_service.applicant_view(d), decision=decision_letters.notified_decision(d)
        if can_read_decision_letter(current_user, d) else None,
        can_manage=can_manage_pole(current_user, d.pole), editors=coeditors.editors(d.pole_id),
        invitations=coeditors.pending_invitations(d.pole_id), pending_files=dossier_checks.pending_verification(d),
        invite_form=forms.InviteForm(
            formdata=None, data={"email": request.args.get("invite", "")}), confirm_form=forms.ConfirmForm(),
    )


def _form_for(section: str, d: Dossier, formdata=None):
    form_cls = sections.SECTION_FORMS[section]
    if formdata is None:
        form = form_cls(formdata=None, data=sections.initial_data(section, d))
        form.base.data = merge.dump(merge.snapshot(section, form))
    else:
        form = form_cls(formdata=formdata)
    if section == "budget":
        form.category_code.choices = [("", _("— Choisir —"))] + [(c.code, c.label) for c in d.call.categories]
    return form


def _apply(section: str, d: Dossier, form) -> None:
    expected = form.expected_version()
    if section == "membres":
        rows = sections.member_rows(form)
        dossier_service.replace_members(d, rows, by=current_user, expected_version=expected, section=section)
    elif section == "budget":
        dossier_service.save_fields(d, sections.scalar_values(section, form), by=current_user,
                                    expected_version=expected, section=section)
        dossier_service.replace_financing_lines(d, sections.financing_rows(form), by=current_user,
                                                expected_version=None, section=section)
    else:
        values = sections.scalar_values(section, form)
        dossier_service.save_fields(d, values, by=current_user, expected_version=expected, section=section)


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
    position = ascii_int(index, maximum=1000)
    if target in removable and position is not None and hasattr(form, removable[target]):
        field_list = getattr(form, removable[target])
        entries = [e for i, e in enumerate(field_list.entries) if i != position]
        data = [e.form.data for e in entries]
        while field_list.entries:
            field_list.pop_entry()
        for row in data:
            field_list.append_entry(row)
        return True
    return False


@bp.route("/dossiers/<int:dossier_id>/<any(identite, membres, activites, projet, budget):section>",
          methods=["GET", "POST"])
@autosave_rate_limited
def edit_section(dossier_id: int, section: str):
    # A save reads only what it changes (the rest is loaded if the page is shown again; the autosave's reply, read
    # after the commit, refreshes the dossier's row alone, not eager loads of everything); the page, all of it.
    d = viewable_dossier(dossier_id, full=request.method == "GET")
    autosave = request.headers.get("X-Autosave") == "1"
    if not can_edit_dossier(current_user, d, section=section):
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
    form.validate()  # only a value outside a field's choices blocks saving a draft (it cannot be typed)
    refused = choice_errors(form)
    if refused:
        if autosave:
            name, messages = next(iter(refused.items()))
            return jsonify({"ok": False, "field": name, "message": messages[0]}), 422
        return _render_section(section, d, form), 422
    row_changed = _handle_row_actions(section, form)
    try:
        _apply(section, d, form)
        db.session.commit()
    except (dossier_service.EditConflict, StaleDataError):
        db.session.rollback()
        d = viewable_dossier(dossier_id, full=True)
        if autosave:
            return jsonify({"ok": False, "conflict": True, "message": _(
                "Ce dossier a été modifié ailleurs. L'enregistrement automatique est suspendu : cliquez sur "
                "« Enregistrer » pour comparer les versions.")}), 409
        return _merge_or_conflict(section, d, form)
    except DomainError as exc:
        if autosave:
            return domain_error_response(exc, as_json=True)
        show_on_form(exc, form)  # the section again, with what was typed
        return _render_section(section, d, form), 409
    if autosave:
        return jsonify({"ok": True, "version": d.version, "base": _form_for(section, d).base.data,
                        "saved_at": _("Enregistré automatiquement : %(time)s", time=format_paris(d.updated_at))})
    if isinstance(row_changed, str):  # the saved section, with what was typed (blank rows too) and one more row
        form.version.data, form.base.data = str(d.version), _form_for(section, d).base.data
        sections.drop_blank_rows(getattr(form, row_changed))
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
    drafts.say_if_restored()
    drafts.mark_saved(d, section)
    if request.form.get("then") == "summary":
        return redirect(url_for("applicants.dossier", dossier_id=d.id))
    return redirect(url_for("applicants.edit_section", dossier_id=d.id, section=section))


@bp.errorhandler(CSRFError)
def expired_form(exc: CSRFError):
    """A refused CSRF token on a section save: never an error page that loses what was typed."""
    def show_again():
        dossier_id, section = request.view_args["dossier_id"], request.view_args["section"]
        d = viewable_dossier(dossier_id, full=True)
        if not can_edit_dossier(current_user, d, section=section):
            return None
        return lambda: (_render_section(section, d, _form_for(section, d, formdata=request.form)), 400)

    return drafts.keep_typed_text(exc, endpoint="applicants.edit_section", show_again=show_again)


def _render_section(section: str, d: Dossier, form, conflict: list | None = None, focus: str | None = None,
                    readonly: bool = False):
    problems = [p for p in checks_for(d) if p.section == section]
    if not readonly:
        _attach_problems(form, problems)
    return render_template(
        BY_CODE[section].template, dossier=d, call=d.call, form=form, section=section,
        section_label=sections.SECTION_TITLES[section], problems=problems, limits=dossier_checks.LIMITS,
        conflict=conflict, totals=dossier_checks.totals(d.financing_lines), focus=focus, readonly=readonly,
        draft_state=drafts.draft_state(d, section), prototypes=sections.row_prototypes(section),
        uncounted=sections.uncounted_amounts(d))


def _attach_problems(form, problems) -> None:
    """Show each problem of the list next to its field too (in red, with its message): every invalid value,
    and every problem of a row (members, expenses, resources: a missing name or role as well as a bad SIRET),
    since the row was added by the person. A blank top-level field of a fresh section is only listed."""
    fields = {field.id: field for field in form}
    row_fields = {}
    for entry_list in (getattr(form, name, None) for name in ("members", "expenses", "resources")):
        for entry in entry_list or []:
            row_fields.update({sub.id: sub for sub in entry.form})
    fields.update(row_fields)
    for problem in problems:
        field = fields.get(problem.field)
        message = translate(problem.message)
        if field is not None and (problem.kind == "invalid" or problem.field in row_fields) \
                and message not in field.errors:
            field.errors = [*field.errors, message]


def _merge_or_conflict(section: str, d: Dossier, mine):
    """Saved over a newer version: merge field by field; only fields both sides changed are shown to choose."""
    theirs = _form_for(section, d)
    take_theirs, conflicts = merge.three_way(merge.load(mine.base.data), merge.snapshot(section, mine),
                                             merge.snapshot(section, theirs))
    merged = _form_for(section, d, formdata=merge.merged_formdata(mine, theirs, take_theirs)) if take_theirs else mine
    merged.version.data, merged.base.data = str(d.version), theirs.base.data
    if conflicts:
        return _render_conflict(section, d, merged, theirs, conflicts)
    try:
        _apply(section, d, merged)
        db.session.commit()
    except (dossier_service.EditConflict, StaleDataError):  # yet another save in between: compare with it
        db.session.rollback()
        d = viewable_dossier(d.id, full=True)
        return _merge_or_conflict(section, d, merged)
    except DomainError as exc:
        show_on_form(exc, merged)
        return _render_section(section, d, merged), 409
    flash(_("Section enregistrée. Entre-temps, d'autres champs de cette section avaient été modifiés ailleurs : "
            "ces modifications ont été conservées avec les vôtres."), "success")
    drafts.say_if_restored()
    drafts.mark_saved(d, section)
    return redirect(url_for("applicants.edit_section", dossier_id=d.id, section=section))


def _render_conflict(section: str, d: Dossier, mine, theirs, conflicts: list[str]):
    """Both versions of each field changed on both sides; the user's form keeps what they typed (and takes
    the other side's changes to the other fields). Saving it now replaces the listed fields."""
    differing = []
    for key in conflicts:
        label = getattr(getattr(mine, key, None), "label", None)
        differing.append({"field": key, "label": label.text if label else key,
                          "mine": _display(mine.data.get(key)), "theirs": _display(theirs.data.get(key))})
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
