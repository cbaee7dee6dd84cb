"""Forms of the administrator pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ptce_aap.enums import ApiScope
from ptce_aap.fields import ChoiceRadioField, CleanForm, MultiCheckboxField


class ConfirmForm(CleanForm):
    """An empty form: its CSRF token protects a confirmed action (re-run, resend)."""


class OverrideForm(CleanForm):
    """The admin's own eligibility verdict, with a mandatory written reason."""

    verdict = ChoiceRadioField(
        _l("Verdict"),
        choices=[("eligible", _l("Recevable : le dossier remplit les conditions d’éligibilité")),
                 ("ineligible", _l("Irrecevable : le dossier ne remplit pas les conditions d’éligibilité"))],
        validators=[DataRequired(message=_l("Choisissez le verdict."))])
    reason = TextAreaField(
        _l("Motif de la décision"),
        validators=[DataRequired(message=_l("Indiquez le motif de votre décision : il est obligatoire et sera "
                                            "conservé dans l’historique du dossier.")),
                    Length(max=2000, message=_l("Le motif ne doit pas dépasser 2 000 caractères."))])

    @property
    def is_eligible(self) -> bool:
        return self.verdict.data == "eligible"


class ProposalForm(CleanForm):
    """The confirmation of an automatic proposal: its pairs and the fingerprint of the state it came from."""

    pairs = HiddenField()
    fingerprint = HiddenField(validators=[DataRequired()])


class AddReviewerForm(CleanForm):
    """One reviewer added to one dossier by hand (the button of a candidate's row)."""

    reviewer_id = IntegerField(validators=[InputRequired()])


class CriterionForm(CleanForm):
    """One criterion of a call's grid. Every field is typed as text and checked by ``services.grid`` all at
    once (a clear message beside each field in fault, what was typed kept)."""

    code = StringField(_l("Code"))
    label = StringField(_l("Intitulé du critère"))
    guidance = TextAreaField(_l("Indications pour les rapporteurs"))
    weight = StringField(_l("Poids"))
    max_score = StringField(_l("Note maximale"), default="5")

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in ("code", "label", "guidance", "weight", "max_score")}


class MoveForm(CleanForm):
    """Move a criterion one place up or down."""

    direction = StringField()


class MessageForm(CleanForm):
    """The secretariat writes to a dossier's pole (checked by ``services.messages``: what was typed is kept)."""

    message_body = TextAreaField(_l("Message au porteur"))


class ComplementsForm(CleanForm):
    """A request for complements: the message, the sections and documents it reopens, the date to answer by
    (Paris time). Choices are the section catalog and the call's document types (set by the view)."""

    request_body = TextAreaField(_l("Ce que vous demandez au porteur"))
    sections = MultiCheckboxField(_l("Parties du dossier à compléter"), choices=[])
    document_types = MultiCheckboxField(_l("Pièces à fournir"), choices=[])
    due_on = StringField(_l("Date limite de réponse"))
    due_time = StringField(_l("Heure limite (heure de Paris)"), default="23:59")


class PublishForm(CleanForm):
    """« Publier les résultats » (and each correction), with the note shown on the list of versions."""

    note = TextAreaField(_l("Note de version (facultative, publique)"), validators=[Length(max=2000)])


class ApiTokenForm(CleanForm):
    """A new API token for the admin who is logged in. Typed as text and checked by ``services.api_tokens``
    all at once (each message beside its field, what was typed kept), as the command's options are."""

    label = StringField(_l("Libellé du jeton"))
    days = StringField(_l("Durée de validité, en jours"))
    scopes = MultiCheckboxField(_l("Droits du jeton"), choices=[(scope.value, scope.lazy_label) for scope in ApiScope],
                                default=[scope.value for scope in ApiScope])
