"""« Jetons d'API »: the tokens of the read-only API, their last use and their revocation (confirmed, audited).
A token is created here for the admin who is logged in (shown once, on the page that answers the form, never
stored in the session nor logged), or with ``flask ptce create-token`` for any administrator."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.forms import ApiTokenForm, ConfirmForm
from ptce_aap.enums import ApiScope
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db, limiter
from ptce_aap.models.accounts import ApiToken
from ptce_aap.models.base import utcnow
from ptce_aap.permissions import can_administer, require
from ptce_aap.services import api_tokens as token_service
from ptce_aap.web import domain_errors, load_or_404, page_arg, show_on_form

PER_PAGE = 50
CREATE_LIMIT = "20 per hour"


def _per_admin() -> str:
    return f"api-token:{getattr(current_user, 'id', None) or request.remote_addr}"


def _render(form: ApiTokenForm, status: int = 200):
    result = token_service.listing(page_arg(), PER_PAGE)
    return render_template("admin/api_tokens.html", result=result, now=utcnow(), ApiScope=ApiScope, form=form,
                           max_days=token_service.MAX_DAYS, default_days=token_service.DEFAULT_DAYS), status


@bp.route("/jetons-api", methods=["GET", "POST"])
@limiter.limit(CREATE_LIMIT, key_func=_per_admin, methods=["POST"])
def api_tokens():
    require(can_administer(current_user))
    if request.method == "GET":
        return _render(ApiTokenForm(formdata=None, days=str(token_service.DEFAULT_DAYS)))
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            token, raw = token_service.create(current_user, days=form.days.data, label=form.label.data,
                                              scopes=form.scopes.data, by=current_user, label_required=True)
        except DomainError as exc:  # the form again, what was typed kept, each error beside its field
            show_on_form(exc, form)
        else:
            db.session.commit()
            # The token is in this page only: not in a flash (the session cookie), not in an address, not cached.
            response = make_response(render_template("admin/api_token_created.html", token=token, raw=raw))
            response.headers["Cache-Control"] = "no-store"
            return response
    return _render(form, 422)


@bp.route("/jetons-api/<int:token_id>/revoquer", methods=["GET", "POST"])
@domain_errors(lambda token_id: url_for("admin.api_tokens"))
def revoke_api_token(token_id: int):
    token = load_or_404(ApiToken, token_id)
    require(can_administer(current_user))
    form = ConfirmForm()
    if form.validate_on_submit():
        token_service.revoke(token, by=current_user)
        db.session.commit()
        flash(_("Le jeton %(prefix)s… est révoqué : il ne donne plus accès à l'API.", prefix=token.prefix), "success")
        return redirect(url_for("admin.api_tokens"))
    return render_template("admin/api_token_revoke.html", token=token, form=form)
