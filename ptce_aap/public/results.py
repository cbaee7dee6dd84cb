"""The published results of a call (SPEC §5): the current version's files (``laureats.csv`` / ``.json``), the list
of every version with its SHA-256, and each version's files. Everything comes from the stored publications
(``services.publication``), never from the live decisions: what is served is what was published."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_login import current_user

from ptce_aap.models.calls import Call
from ptce_aap.models.publications import Publication
from ptce_aap.permissions import can_view_call, require
from ptce_aap.public.blueprint import bp
from ptce_aap.services import publication as publication_service
from ptce_aap.storage import get_storage
from ptce_aap.web import load_or_404


def _call(slug: str) -> Call:
    call = load_or_404(Call, slug=slug)
    require(can_view_call(current_user, call))
    return call


def _serve(publication: Publication | None, kind: str) -> Response:
    entry = publication_service.file_of(publication, kind) if publication is not None else None
    if entry is None:
        abort(404)
    filename, mime = publication_service.FILES[kind]
    return Response(get_storage().iter_chunks(entry["key"]), mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="v{publication.version}-{filename}"',
        "Content-Length": str(entry["size"]), "X-Content-SHA256": entry["sha256"]})


@bp.route("/appels/<slug>/laureats.<any(csv, json):kind>")
def call_results_file(slug: str, kind: str):
    """The current version's file."""
    return _serve(publication_service.current(_call(slug)), kind)


@bp.route("/appels/<slug>/publications")
def call_publications(slug: str):
    call = _call(slug)
    versions = publication_service.versions(call)
    if not versions:
        abort(404)
    return render_template("public/publications.html", call=call, versions=versions)


MAX_VERSION = 2**31 - 1


@bp.route("/appels/<slug>/publications/<int:version>/laureats.<any(csv, json):kind>")
def publication_file(slug: str, version: int, kind: str):
    if version > MAX_VERSION:  # not a version number any database column holds: there is no such version
        abort(404)
    return _serve(publication_service.version(_call(slug), version), kind)
