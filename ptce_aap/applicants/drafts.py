"""What was typed in a section survives the end of the session (issue 9, "never lose a word").

The browser keeps it (``static/dossier.js``: localStorage, keyed by user, dossier and section, with the version
and base values it was typed on) until the server confirms a save, and after a new login it restores it and
saves it through the normal path (optimistic lock, field-by-field merge). This module is the server's side:

- a section save whose CSRF token is refused (session ended, token expired, server secret changed) is not an
  error page (``dossier.expired_form``): signed in, the section comes back with what was typed and a message
  to save again; signed out, the login page, which brings the person back to the section (``next``), where
  the browser restores the text;
- the page tells the script whether it shows the saved state (``"clean"``), what was typed and not saved
  (``"unsaved"``), or the result of this person's save that just succeeded (``"saved"``: drop the draft).
"""

from __future__ import annotations

from flask import flash, request, session
from flask_babel import gettext as _

from ptce_aap.models.dossiers import Dossier

_SAVED = "draft_saved"


def mark_saved(dossier: Dossier, section: str) -> None:
    """This person's save of the section succeeded: the next page of it tells the script to drop its draft."""
    session[_SAVED] = f"{dossier.id}:{section}"


def draft_state(dossier: Dossier, section: str) -> str:
    if request.method == "POST":
        return "unsaved"
    return "saved" if session.pop(_SAVED, None) == f"{dossier.id}:{section}" else "clean"


def expired_form_message(*, signed_in: bool) -> str:
    if not signed_in:
        return _("Votre session a pris fin : rien n’a été enregistré. Ce que vous avez saisi est conservé "
                 "dans ce navigateur : connectez-vous, il sera enregistré à votre retour sur la section.")
    return _("Le formulaire avait expiré : rien n’a été enregistré. Vos saisies sont toujours là : "
             "cliquez de nouveau sur « Enregistrer ».")


def say_if_restored() -> None:
    """The save carried what the browser kept while the session was interrupted: say it was saved."""
    if request.form.get("restored"):
        flash(_("Les saisies conservées dans ce navigateur pendant l’interruption de votre session ont été "
                "enregistrées."), "success")
