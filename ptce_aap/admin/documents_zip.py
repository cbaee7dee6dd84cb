"""The ZIP of a call's documents: the admin asks for it (a confirmation, then a POST), follows the build on
the job's progress page (``admin.job_progress``), then downloads it through a short-lived presigned link of
the storage, like every other download (``downloads.LINK_EXPIRES``). The build is a background job
(``services.documents_zip``, task ``documents_zip``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ptce_aap.admin import forms
from ptce_aap.admin.blueprint import bp
from ptce_aap.downloads import LINK_EXPIRES
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.models.outbox import JobRun
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import documents_zip as service
from ptce_aap.storage import get_storage
from ptce_aap.web import load_or_404


@bp.route("/appels/<slug>/archive", methods=["GET", "POST"])
def documents_zip(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        run = service.start(call, by=current_user)
        db.session.commit()
        flash(_("La préparation de l’archive des pièces a été lancée."), "info")
        return redirect(url_for("admin.job_progress", run_id=run.id))
    return render_template("admin/documents_zip_confirm.html", call=call, form=form,
                           count=service.document_count(call))


@bp.route("/taches/<int:run_id>/archive")
def documents_zip_download(run_id: int):
    run = load_or_404(JobRun, run_id)
    call = load_or_404(Call, run.call_id) if run.call_id else abort(404)
    require(can_manage_call(current_user, call))
    if not service.downloadable(run):
        abort(404)
    url = get_storage().presigned_get(service.archive_key(run), expires=LINK_EXPIRES,
                                      filename=f"pieces-{call.slug}-{run.id}.zip", content_type="application/zip")
    return redirect(url)
