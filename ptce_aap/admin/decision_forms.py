"""The forms of the committee's pages: a decision (outcome, amount typed the French way, motivation, reference
and dates, payment terms with their tranches as a row list), a session (date, place), its attendance (one row
per institution convened). Every field is typed as text and read here (``DecisionForm.read``): a value that
cannot be read gets its message beside its field, and the service's own problems join them."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FormField, HiddenField, SelectField, StringField, TextAreaField

from ptce_aap.domain.formatting import format_typed
from ptce_aap.domain.money import AmountError, parse_amount
from ptce_aap.enums import DecisionOutcome, PaymentTerms
from ptce_aap.fields import ChoiceRadioField, CleanForm, RowList
from ptce_aap.i18n import translate
from ptce_aap.services.decisions import TRANCHES_MAX, DecisionInput, Tranche

_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_FRENCH = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
BAD_DATE = _l("Saisissez une date valide, par exemple 03/12/2026.")


def parse_day(text: str | None) -> date | None:
    """``2026-12-03`` (a date input) or ``03/12/2026`` (typed) → a date; empty → ``None``; else ``ValueError``."""
    text = (text or "").strip()
    if not text:
        return None
    if m := _ISO.fullmatch(text):
        year, month, day = (int(g) for g in m.groups())
    elif m := _FRENCH.fullmatch(text):
        day, month, year = (int(g) for g in m.groups())
    else:
        raise ValueError(text)
    return date(year, month, day)


def amount_text(value) -> str:
    return format_typed(value, str(get_locale() or "fr"), cents=True)


class TrancheForm(CleanForm):
    class Meta:
        csrf = False

    on = StringField(_l("Date"))
    amount_eur = StringField(_l("Montant"))


class DecisionForm(CleanForm):
    outcome = ChoiceRadioField(_l("Décision du comité"), choices=[(o.value, o.lazy_label) for o in DecisionOutcome])
    amount_eur = StringField(_l("Montant accordé (€)"))
    motivation = TextAreaField(_l("Motivation"))
    reference = StringField(_l("Référence de la décision"))
    committee_date = StringField(_l("Date de la décision"))
    agreement_date = StringField(_l("Date de la convention"))
    payment_terms = ChoiceRadioField(_l("Modalités de versement"),
                                     choices=[(t.value, t.lazy_label) for t in PaymentTerms])
    tranches = RowList(FormField(TrancheForm), min_entries=0, max_entries=TRANCHES_MAX)
    payment_period_start = StringField(_l("Début de la période de versement"))
    payment_period_end = StringField(_l("Fin de la période de versement"))
    correction_reason = TextAreaField(_l("Raison de la correction"))

    DATES = ("committee_date", "agreement_date", "payment_period_start", "payment_period_end")

    def fill(self, decision) -> None:
        """The form of a correction starts from the current decision."""
        self.outcome.data = decision.outcome.value
        self.amount_eur.data = amount_text(decision.amount_eur)
        self.motivation.data = decision.motivation
        self.reference.data = decision.reference
        for name in self.DATES:
            value = getattr(decision, name)
            getattr(self, name).data = value.isoformat() if value else ""
        self.payment_terms.data = decision.payment_terms.value if decision.payment_terms else None
        for row in decision.payment_schedule or []:
            self.tranches.append_entry({"on": row["date"], "amount_eur": amount_text(row["amount_eur"])})

    def _date(self, name: str) -> date | None:
        field = getattr(self, name)
        try:
            return parse_day(field.data)
        except ValueError:
            field.errors = [*field.errors, BAD_DATE]
            return None

    def _amount(self, field):
        try:
            return parse_amount(field.data)
        except AmountError as exc:
            field.errors = [*field.errors, translate(exc.message)]
            return None

    def read(self) -> DecisionInput:
        """What was typed as Python values; what cannot be read is left empty, its message beside its field.
        Amount and payment belong to a laureate: for another outcome they are not read (a laureate changed to
        the waiting list keeps its typed amount on the page, and nothing refuses it)."""
        outcome = DecisionOutcome(self.outcome.data) if self.outcome.data in {o.value for o in DecisionOutcome} \
            else None
        if outcome is not None and outcome != DecisionOutcome.LAUREATE:
            return DecisionInput(outcome=outcome, motivation=self.motivation.data or "",
                                 reference=self.reference.data or "", committee_date=self._date("committee_date"),
                                 correction_reason=self.correction_reason.data or "")
        tranches = []
        for entry in self.tranches.entries:
            row = entry.form
            if not (row.on.data or "").strip() and not (row.amount_eur.data or "").strip():
                continue
            try:
                on = parse_day(row.on.data)
            except ValueError:
                on = None
                row.on.errors = [*row.on.errors, BAD_DATE]
            if on is None and not row.on.errors:
                row.on.errors = [*row.on.errors, _l("Indiquez la date de la tranche.")]
            amount = self._amount(row.amount_eur)
            if on is not None and not row.amount_eur.errors:
                tranches.append(Tranche(on=on, amount_eur=amount))
        return DecisionInput(
            outcome=outcome, motivation=self.motivation.data or "", amount_eur=self._amount(self.amount_eur),
            reference=self.reference.data or "", committee_date=self._date("committee_date"),
            agreement_date=self._date("agreement_date"),
            payment_terms=PaymentTerms(self.payment_terms.data) if self.payment_terms.data in
            {t.value for t in PaymentTerms} else None,
            tranches=tranches, payment_period_start=self._date("payment_period_start"),
            payment_period_end=self._date("payment_period_end"),
            correction_reason=self.correction_reason.data or "")

    def has_read_errors(self) -> bool:
        """Whether a value typed could not be read (its message is beside its field)."""
        return (any(getattr(self, name).errors for name in ("amount_eur", *self.DATES))
                or any(e.form.on.errors or e.form.amount_eur.errors for e in self.tranches.entries))


class SessionForm(CleanForm):
    held_on = StringField(_l("Date de la séance"))
    place = StringField(_l("Lieu"))


class AttendanceRowForm(CleanForm):
    class Meta:
        csrf = False

    institution_id = HiddenField()
    is_present = BooleanField(_l("Présente"))
    attendees = TextAreaField(_l("Personnes présentes"))


class AttendanceForm(CleanForm):
    attendance = RowList(FormField(AttendanceRowForm), min_entries=0, max_entries=200)
    add_institution = SelectField(_l("Convoquer une autre institution"), choices=[], validate_choice=False)
