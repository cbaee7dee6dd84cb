"""The admin's reviewer pool of a call: the list (filters, sort, pagination), invite by e-mail (and send
the invitation again), edit, remove, regional groups. Writes go through ``services.pool``."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.forms import ConfirmForm
from ptce_aap.admin.pool_forms import GroupForm, MemberForm
from ptce_aap.domain import geography
from ptce_aap.domain.money import ascii_int
from ptce_aap.enums import ActivityDomain
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.models.pool import ReviewerPoolMember
from ptce_aap.permissions import can_manage_pool, require
from ptce_aap.services import pool as pool_service
from ptce_aap.services import reviewer_invitations
from ptce_aap.web import domain_errors, load_or_404, page_arg, show_on_form

PER_PAGE = 50


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_manage_pool(current_user, call))
    return call


def _member(call: Call, member_id: int) -> ReviewerPoolMember:
    return load_or_404(ReviewerPoolMember, member_id, call_id=call.id)


@bp.route("/appels/<slug>/rapporteurs")
def pool(slug: str):
    call = _call(slug)
    institution_id = ascii_int(request.args.get("institution", ""), maximum=2**31 - 1)
    group_id = ascii_int(request.args.get("groupe", ""), maximum=2**31 - 1)
    query = (request.args.get("q") or "").strip()[:100]
    sort = request.args.get("tri", "nom")
    sort = sort if sort in pool_service.SORTS else "nom"
    descending = request.args.get("ordre") == "desc"
    result = pool_service.pool_page(call, institution_id=institution_id, group_id=group_id, query=query, sort=sort,
                                    descending=descending, page=page_arg(), per_page=PER_PAGE)
    args = {"institution": institution_id, "groupe": group_id, "q": query or None, "tri": sort,
            "ordre": "desc" if descending else None}
    return render_template(
        "admin/pool.html", call=call, result=result, institutions=pool_service.institutions(),
        groups=pool_service.regional_groups(call) if call.has_regional_instruction else [],
        args={k: v for k, v in args.items() if v}, institution_id=institution_id, group_id=group_id, query=query,
        sort=sort, descending=descending, form=ConfirmForm(), group_form=GroupForm(formdata=None),
        domain_labels=dict(ActivityDomain.choices()), region_names={c: r.name for c, r in geography.regions().items()})


def _settings(form: MemberForm, call: Call) -> pool_service.MemberSettings:
    """The form's values; a new institution is created first (same transaction)."""
    if form.is_new_institution:
        institution = pool_service.create_institution(form.institution_name.data, form.institution_kind.data or "",
                                                      form.institution_siren.data, by=current_user)
        institution_id = institution.id
    else:
        institution_id = ascii_int(form.institution_id.data, maximum=2**31 - 1)
    group = form.regional_group_id.data if call.has_regional_instruction else ""
    return pool_service.MemberSettings(
        institution_id=institution_id, capacity=form.capacity_value,
        activity_domains=tuple(form.activity_domains.data or ()), region_codes=tuple(form.region_codes.data or ()),
        regional_group_id=ascii_int(group, maximum=2**31 - 1) if group else None)


def _member_form(call: Call, **kwargs) -> MemberForm:
    return MemberForm(institutions=pool_service.institutions(),
                      groups=pool_service.regional_groups(call) if call.has_regional_instruction else [], **kwargs)


@bp.route("/appels/<slug>/rapporteurs/inviter", methods=["GET", "POST"])
def pool_invite(slug: str):
    call = _call(slug)
    form = _member_form(call)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                member = pool_service.invite_reviewer(call, form.email.data or "", full_name=form.full_name.data or "",
                                                      settings=_settings(form, call), by=current_user)
            except DomainError as exc:  # the form again, everything typed kept, the error beside its field
                show_on_form(exc, form)
            else:
                db.session.commit()
                flash(_("%(name)s a été ajouté(e) au vivier des rapporteurs ; un courriel l’en informe.",
                        name=member.user.display_name), "success")
                return redirect(url_for("admin.pool", slug=call.slug))
        return render_template("admin/pool_member.html", call=call, form=form, member=None), 400
    return render_template("admin/pool_member.html", call=call, form=form, member=None)


@bp.route("/appels/<slug>/rapporteurs/<int:member_id>", methods=["GET", "POST"])
def pool_member(slug: str, member_id: int):
    call = _call(slug)
    member = _member(call, member_id)
    if request.method == "GET":
        form = _member_form(call, formdata=None, data={
            "institution_id": str(member.institution_id or ""), "capacity": "" if member.capacity is None else str(member.capacity),
            "activity_domains": member.activity_domains or [], "region_codes": member.region_codes or [],
            "regional_group_id": str(member.regional_group_id or "")})
        return render_template("admin/pool_member.html", call=call, form=form, member=member)
    form = _member_form(call)
    if form.validate_on_submit():
        try:
            pool_service.update_member(member, _settings(form, call), by=current_user)
        except DomainError as exc:  # the form again, everything typed kept, the error beside its field
            show_on_form(exc, form)
            member = _member(call, member_id)
        else:
            db.session.commit()
            flash(_("Les informations du rapporteur ont été enregistrées."), "success")
            return redirect(url_for("admin.pool", slug=call.slug))
    return render_template("admin/pool_member.html", call=call, form=form, member=member), 400


@bp.route("/appels/<slug>/rapporteurs/<int:member_id>/retrait", methods=["POST"])
@domain_errors(back=lambda slug, member_id: url_for("admin.pool", slug=slug))
def pool_remove(slug: str, member_id: int):
    call = _call(slug)
    member = _member(call, member_id)
    if ConfirmForm().validate_on_submit():
        name = member.user.display_name
        pool_service.remove_member(member, by=current_user)
        db.session.commit()
        flash(_("%(name)s a été retiré(e) du vivier des rapporteurs.", name=name), "success")
    return redirect(url_for("admin.pool", slug=call.slug))


@bp.route("/appels/<slug>/rapporteurs/<int:member_id>/invitation", methods=["POST"])
@domain_errors(back=lambda slug, member_id: url_for("admin.pool", slug=slug))
def pool_resend_invitation(slug: str, member_id: int):
    """« Renvoyer l'invitation » to a member who never chose a password (a new link, mailed after commit)."""
    call = _call(slug)
    member = _member(call, member_id)
    if ConfirmForm().validate_on_submit():
        reviewer_invitations.resend_invitation(member, by=current_user)
        db.session.commit()
        flash(_("L’invitation a été renvoyée à %(email)s.", email=member.user.email), "success")
    return redirect(url_for("admin.pool", slug=call.slug))


@bp.route("/appels/<slug>/rapporteurs/groupes", methods=["POST"])
@domain_errors(back=lambda slug: url_for("admin.pool", slug=slug))
def pool_group(slug: str):
    call = _call(slug)
    form = GroupForm()
    if not form.validate_on_submit():
        raise DomainError(" ".join(str(e) for e in form.region_code.errors) or _("Choisissez une région."))
    group = pool_service.create_regional_group(call, form.region_code.data, by=current_user)
    db.session.commit()
    flash(_("Le groupe régional « %(name)s » a été créé.", name=group.name), "success")
    return redirect(url_for("admin.pool", slug=call.slug))
