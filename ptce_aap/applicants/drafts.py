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

from collections.abc import Callable

from flask import flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ptce_aap.models.dossiers import Dossier
from ptce_aap.web import http_error_response

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


def keep_typed_text(exc: CSRFError, *, endpoint: str, show_again: Callable[[], Callable[[], object] | None]):
    """A CSRF refusal on the save of ``endpoint`` (a dossier section, a review): never an error page that
    loses what was typed. Signed out: the login page (autosave: a JSON 401), which brings the person back.
    Signed in: autosave gets a JSON 400; a form post gets the page again with the posted values and a warning:
    ``show_again()`` loads and checks the object and returns what renders that page, or None (or refuses) when
    the object is not theirs to edit — then the plain error page."""
    if request.endpoint != endpoint or request.method != "POST":
        return http_error_response(exc)
    autosave = request.headers.get("X-Autosave") == "1"
    if not current_user.is_authenticated:
        message = expired_form_message(signed_in=False)
        if autosave:
            return jsonify({"ok": False, "expired": True, "login": True, "message": message}), 401
        flash(message, "warning")
        return redirect(url_for("auth.login", next=request.path))
    message = expired_form_message(signed_in=True)
    if autosave:
        return jsonify({"ok": False, "expired": True, "message": message}), 400
    try:
        render = show_again()
    except HTTPException:
        render = None
    if render is None:
        return http_error_response(exc)
    flash(message, "warning")
    return render()


def say_if_restored() -> None:
    """The save carried what the browser kept while the session was interrupted: say it was saved."""
    if request.form.get("restored"):
        flash(_("Les saisies conservées dans ce navigateur pendant l’interruption de votre session ont été "
                "enregistrées."), "success")
