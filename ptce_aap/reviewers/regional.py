"""A regional group's workspace (calls with regional instruction): the group's dossiers, minus those the member
has a conflict of interest on; the group's avis on each (one per dossier, any member may change it until the
regional deadline) and the ranking of all its dossiers."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from ptce_aap.domain.money import ascii_int
from ptce_aap.enums import Recommendation
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.fields import ChoiceRadioField, CleanForm
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.permissions import (
    can_give_regional_opinion,
    can_rank_regional_group,
    conflicted_dossier_ids,
    regional_group_of,
    regional_opinions_open,
    require,
)
from ptce_aap.reviewers.blueprint import bp
from ptce_aap.services import regional as regional_service
from ptce_aap.web import domain_errors, load_or_404, show_on_form


class OpinionForm(CleanForm):
    recommendation = ChoiceRadioField(
        _l("Avis du groupe"), choices=Recommendation.choices(),
        validators=[DataRequired(message=_l("Choisissez l’avis du groupe : favorable, réservé ou défavorable."))])
    motivation = TextAreaField(
        _l("Motivation"),
        validators=[DataRequired(message=_l("Motivez l’avis du groupe : la motivation est obligatoire.")),
                    Length(max=regional_service.MOTIVATION_MAX,
                           message=_l("La motivation ne doit pas dépasser 5 000 caractères."))])
    seen = HiddenField()


class RankingForm(CleanForm):
    """Its CSRF token; the ranks (``rang-<dossier id>``) are read from the request by ``_read_ranks``."""


def _group_or_404(call):
    group = regional_group_of(current_user, call)
    require(group is not None)
    return group


def reading_url(dossier) -> str | None:
    """The reading view of the dossier, once the reading pages exist (another part of the app)."""
    if "reviewers.dossier" in current_app.view_functions:
        return url_for("reviewers.dossier", dossier_id=dossier.id)
    return None


def _render_workspace(call, group, *, typed: dict | None = None, errors: dict | None = None,
                      form: RankingForm | None = None, status: int = 200):
    dossiers, opinions = regional_service.group_dossiers(group)
    conflicted = conflicted_dossier_ids(current_user, dossiers)
    visible = [d for d in dossiers if d.id not in conflicted]
    return render_template(
        "reviewers/regional/workspace.html", call=call, group=group, dossiers=visible, opinions=opinions,
        authors=regional_service.authors(opinions.values()), hidden=len(conflicted),
        can_rank=not conflicted, is_open=regional_opinions_open(call, utcnow()),
        form=form or RankingForm(), typed=typed or {}, errors=errors or {}, reading_url=reading_url,
        given=sum(1 for d in visible if regional_service.is_given(opinions.get(d.id))),
    ), status


@bp.route("/appels/<slug>/region")
def regional(slug: str):
    call = load_or_404(Call, slug=slug)
    group = _group_or_404(call)
    return _render_workspace(call, group)


def _read_ranks(dossiers) -> tuple[dict[int, int], dict[str, str], dict[int, str]]:
    """The ranks typed, the raw values (to show them again) and the errors per dossier."""
    ranks, typed, errors = {}, {}, {}
    for d in dossiers:
        raw = request.form.get(f"rang-{d.id}", "").strip()
        typed[str(d.id)] = raw
        value = ascii_int(raw, maximum=len(dossiers)) if raw else None
        if value is None or value < 1:
            errors[d.id] = _("Saisissez un rang entier entre 1 et %(n)s.", n=len(dossiers))
        else:
            ranks[d.id] = value
    seen: dict[int, int] = {}
    for dossier_id, rank in ranks.items():
        if rank in seen:
            errors[dossier_id] = errors[seen[rank]] = _("Le rang %(rank)s est donné à plusieurs dossiers.", rank=rank)
        seen.setdefault(rank, dossier_id)
    return ranks, typed, errors


@bp.route("/appels/<slug>/region/classement", methods=["POST"])
@domain_errors(back=lambda slug: url_for("reviewers.regional", slug=slug))
def regional_ranking(slug: str):
    call = load_or_404(Call, slug=slug)
    group = _group_or_404(call)
    dossiers, _opinions = regional_service.group_dossiers(group)
    require(can_rank_regional_group(current_user, group, dossiers), hide=False)
    form = RankingForm()
    if not form.validate_on_submit():
        return redirect(url_for("reviewers.regional", slug=slug))
    ranks, typed, errors = _read_ranks(dossiers)
    if errors:
        flash(_("Le classement n’a pas été enregistré : corrigez les rangs signalés."), "error")
        return _render_workspace(call, group, typed=typed, errors=errors, form=form, status=400)
    regional_service.save_ranking(group, ranks, by=current_user, now=utcnow())
    db.session.commit()
    flash(_("Le classement régional a été enregistré."), "success")
    return redirect(url_for("reviewers.regional", slug=slug))


def _render_opinion(call, group, dossier, form, status: int = 200):
    opinion = db.session.scalar(regional_service.opinion_query(dossier, group))
    author = regional_service.authors([opinion]).get(opinion.author_id) if opinion else None
    if opinion is not None and not form.is_submitted():
        form.recommendation.data = opinion.recommendation.value if opinion.recommendation else None
        form.motivation.data = opinion.motivation
    if not form.is_submitted() or form.seen.data is None:
        form.seen.data = regional_service.opinion_version(opinion)
    return render_template("reviewers/regional/opinion.html", call=call, group=group, dossier=dossier,
                           opinion=opinion, author=author, form=form, reading_url=reading_url(dossier),
                           is_open=regional_opinions_open(call, utcnow())), status


def _load_dossier(slug: str, dossier_id: int):
    call = load_or_404(Call, slug=slug)
    dossier = load_or_404(Dossier, dossier_id)
    require(dossier.call_id == call.id and can_give_regional_opinion(current_user, dossier))
    return call, regional_group_of(current_user, call), dossier


@bp.route("/appels/<slug>/region/dossiers/<int:dossier_id>", methods=["GET", "POST"])
def regional_opinion(slug: str, dossier_id: int):
    call, group, dossier = _load_dossier(slug, dossier_id)
    if request.method == "GET":
        return _render_opinion(call, group, dossier, OpinionForm(formdata=None))
    form = OpinionForm()
    if not form.validate_on_submit():
        return _render_opinion(call, group, dossier, form, 400)
    try:
        regional_service.save_opinion(dossier, group, recommendation=form.recommendation.data,
                              motivation=form.motivation.data, by=current_user, now=utcnow(),
                              seen_version=form.seen.data or "")
    except DomainError as exc:  # the form again, the motivation typed kept and the error beside it
        show_on_form(exc, form)
        form.seen.data = None  # the avis now shown is the one seen: saving again replaces it
        return _render_opinion(call, group, dossier, form, exc.status)
    db.session.commit()
    flash(_("L’avis régional sur « %(pole)s » a été enregistré.", pole=dossier.pole_name), "success")
    return redirect(url_for("reviewers.regional", slug=slug))


@bp.app_template_global("regional_groups_of_current_user")
def regional_groups_of_current_user():
    """The regional groups of the logged-in reviewer, with their call (for the dashboard's links)."""
    return regional_service.groups_of_user(current_user)
