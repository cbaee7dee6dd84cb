"""With no antivirus, a file never analysed is not called sound: « Non analysé », and the call decides
whether such a file is acceptable (``require_clean_scan`` in its documents rule) — issue 8, finding 6."""

from ptce_aap.domain.eligibility import rule_settings


def _documents_row(page: str) -> str:
    start = page.index('data-rule="documents"')
    return page[start:page.index("</li>", start)]


def test_unscanned_files_are_accepted_but_said_not_analysed(client, login_as, make_dossier, applicant, app):
    assert not app.config.get("CLAMD_ADDRESS")
    dossier = make_dossier(owner=applicant, complete=True)  # its files: ready, never scanned
    assert rule_settings(dossier.call.eligibility_settings, "documents")["require_clean_scan"] is False
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True)
    row = _documents_row(page)
    assert "Non analysé" in row
    assert "Respectée" not in row
    assert "non analysées par l’antivirus (l’appel accepte les pièces non analysées)" in row


def test_a_call_can_require_analysed_files(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    settings = dict(dossier.call.eligibility_settings or {})
    settings["documents"] = {"mode": "blocking", "require_clean_scan": True}
    dossier.call.eligibility_settings = settings
    db.session.commit()
    login_as(applicant)
    row = _documents_row(client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True))
    assert "Non respectée" in row
    assert "n’a pas été analysé par l’antivirus : envoyez-le de nouveau." in row
