"""« Publication des résultats » of a call: a preview of the open-data table (SCDL *subventions* v2.1.1) as it
would be published now, the published versions with their files' SHA-256, and « Publier » (the first time,
which moves the call to PUBLISHED) or « Publier une correction » (version N+1) after a confirmation
(``services.publication.publish``). Admin only (the blueprint's gate and ``can_manage_call``)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ptce_aap.admin import forms
from ptce_aap.admin.blueprint import bp
from ptce_aap.domain import scdl
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.permissions import can_manage_call, require
from ptce_aap.services import publication as publication_service
from ptce_aap.web import domain_errors, load_or_404

# The preview's columns in words (the file's names are the schema's, in French whatever the reader's language).
COLUMN_LABELS = {
    "nomAttribuant": _l("Nom de l’organisme attribuant"),
    "idAttribuant": _l("SIRET de l’organisme attribuant"),
    "dateConvention": _l("Date de la convention (à défaut, de la décision)"),
    "referenceDecision": _l("Référence de la décision"),
    "nomBeneficiaire": _l("Bénéficiaire (structure porteuse)"),
    "idBeneficiaire": _l("SIRET du bénéficiaire"),
    "rnaBeneficiaire": _l("Numéro RNA du bénéficiaire"),
    "objet": _l("Objet"),
    "montant": _l("Montant"),
    "nature": _l("Nature de l’aide"),
    "conditionsVersement": _l("Conditions de versement"),
    "datesPeriodeVersement": _l("Période de versement"),
    "idRAE": _l("Identifiant au registre des aides d’État (RAE)"),
    "notificationUE": _l("Notifiée à la Commission européenne"),
    "pourcentageSubvention": _l("Part de la subvention dans le budget (de 0 à 1)"),
    "dispositifAide": _l("Dispositif d’aide"),
}


def _page(slug: str) -> str:
    return url_for("admin.publication", slug=slug)


@bp.route("/appels/<slug>/publication")
def publication(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    snapshot = publication_service.preview(call)
    current = publication_service.current(call)
    return render_template("admin/publication.html", call=call, rows=snapshot["rows"], columns=scdl.COLUMNS,
                           labels=COLUMN_LABELS,
                           problems=scdl.problems(snapshot["rows"]), current=current,
                           unchanged=current is not None and current.snapshot.get("rows") == snapshot["rows"],
                           versions=publication_service.versions(call),
                           publishable=call.status in publication_service.PUBLISHABLE)


@bp.route("/appels/<slug>/publication/apercu.csv")
def publication_preview_csv(slug: str):
    """The file as it would be published now (all its columns), to check it in a spreadsheet before publishing."""
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    data = scdl.to_csv(publication_service.preview(call)["rows"])
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="apercu-laureats-{call.slug}.csv"',
        "Cache-Control": "no-store"})


@bp.route("/appels/<slug>/publication/publier", methods=["GET", "POST"])
@domain_errors(back=lambda slug: _page(slug))
def publish_results(slug: str):
    call = load_or_404(Call, slug=slug)
    require(can_manage_call(current_user, call))
    form = forms.PublishForm()
    if form.validate_on_submit():
        published = publication_service.publish(call, by=current_user, note=form.note.data or "")
        db.session.commit()
        flash(_("Version %(version)s publiée : la liste des lauréats est en ligne.", version=published.version),
              "success")
        return redirect(_page(slug))
    snapshot = publication_service.preview(call)
    return render_template("admin/publication_confirm.html", call=call, form=form, rows=snapshot["rows"],
                           current=publication_service.current(call))
