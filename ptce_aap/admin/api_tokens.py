"""« Jetons d'API »: the tokens of the read-only API (created with ``flask ptce create-token``), their last use,
and their revocation (confirmed, audited)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.admin.blueprint import bp
from ptce_aap.admin.forms import ConfirmForm
from ptce_aap.enums import ApiScope
from ptce_aap.extensions import db
from ptce_aap.models.accounts import ApiToken
from ptce_aap.models.base import utcnow
from ptce_aap.permissions import can_administer, require
from ptce_aap.services import api_tokens as token_service
from ptce_aap.web import domain_errors, load_or_404, page_arg

PER_PAGE = 50


@bp.route("/jetons-api")
def api_tokens():
    require(can_administer(current_user))
    result = token_service.listing(page_arg(), PER_PAGE)
    return render_template("admin/api_tokens.html", result=result, now=utcnow(), ApiScope=ApiScope)


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
