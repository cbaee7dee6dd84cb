"""Forms of the reviewer pages. The scoring form is built per grid: one score (radios 0..max) and one
comment per criterion, named ``score_<criterion id>`` and ``comment_<criterion id>``."""

from __future__ import annotations

import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from ptce_aap.domain.money import ascii_int
from ptce_aap.enums import Recommendation
from ptce_aap.fields import ChoiceRadioField, CleanForm
from ptce_aap.services import reviews as review_service

MERGE_IGNORED = {"version", "base", "restored", "csrf_token"}


class ReviewFormBase(CleanForm):
    version = HiddenField()
    base = HiddenField()  # the values the form was loaded with (JSON), for a field-by-field merge
    restored = HiddenField(default="")
    recommendation = ChoiceRadioField(_l("Votre avis sur ce dossier"),
                                      choices=[(r.value, r.lazy_label) for r in Recommendation])
    confidential_note = TextAreaField(
        _l("Note confidentielle au comité"), validators=[Length(max=review_service.NOTE_MAX)])

    criteria: list = []

    def expected_version(self) -> int | None:
        return ascii_int((self.version.data or "").strip(), maximum=2**31 - 1)

    def values(self) -> review_service.ReviewValues:
        given = {}
        for c in self.criteria:
            raw = (self[f"score_{c.id}"].data or "").strip()
            score = ascii_int(raw, maximum=1000) if raw else None
            if raw and score is None:
                score = -1  # not a number: the service refuses it next to the field
            given[c.id] = (score, (self[f"comment_{c.id}"].data or "").strip())
        recommendation = self.recommendation.data
        return review_service.ReviewValues(
            scores=given,
            recommendation=Recommendation(recommendation) if recommendation in {r.value for r in Recommendation}
            else None,
            confidential_note=(self.confidential_note.data or "").strip())

    def snapshot(self) -> dict:
        """Field → text, comparable and JSON-safe: what ``base`` carries."""
        return {field.short_name: "" if field.data is None else str(field.data).strip()
                for field in self if field.short_name not in MERGE_IGNORED}


def review_form_class(criteria) -> type[ReviewFormBase]:
    attributes = {"criteria": list(criteria)}
    for c in criteria:
        attributes[f"score_{c.id}"] = ChoiceRadioField(
            c.label, choices=[(str(i), str(i)) for i in range(c.max_score + 1)])
        attributes[f"comment_{c.id}"] = TextAreaField(
            _("Commentaire sur « %(label)s »", label=c.label), validators=[Length(max=review_service.COMMENT_MAX)])
    return type("ReviewForm", (ReviewFormBase,), attributes)


def initial_formdata(review, criteria) -> MultiDict:
    pairs = [("version", str(review.version))]
    by_criterion = {s.criterion_id: s for s in review.scores}
    for c in criteria:
        row = by_criterion.get(c.id)
        if row is not None and row.score is not None:
            pairs.append((f"score_{c.id}", str(row.score)))
        pairs.append((f"comment_{c.id}", row.comment if row is not None else ""))
    if review.recommendation is not None:
        pairs.append(("recommendation", review.recommendation.value))
    pairs.append(("confidential_note", review.confidential_note or ""))
    return MultiDict(pairs)


def saved_form(review, criteria, form_class=None):
    """The form of the saved review, with its ``base`` set."""
    form_class = form_class or review_form_class(criteria)
    form = form_class(formdata=initial_formdata(review, criteria), meta={"csrf": False})
    form.base.data = dump(form.snapshot())
    return form


def dump(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class SubmitReviewForm(CleanForm):
    version = HiddenField()

    def expected_version(self) -> int | None:
        return ascii_int((self.version.data or "").strip(), maximum=2**31 - 1)


class ReopenReviewForm(CleanForm):
    reason = TextAreaField(
        _l("Motif de la réouverture"),
        validators=[DataRequired(message=_l("Indiquez le motif de la réouverture : il est conservé dans "
                                            "l’historique.")),
                    Length(max=review_service.REASON_MAX,
                           message=_l("Le motif ne doit pas dépasser 1 000 caractères."))])
