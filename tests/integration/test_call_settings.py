"""The secretariat's calls, service side (issue 11, point 1): every setting checked, Paris times with their
summer/winter changes, a draft edited as a whole, only the deadline moving once open (audited, mailed to the
drafters once per change), the opening guard listing what is missing, a past call duplicated."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ptce_aap.domain import call_settings as cs
from ptce_aap.domain.formatting import format_datetime
from ptce_aap.enums import CallStatus
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.outbox import Notification
from ptce_aap.services import calls

UTC = UTC


def _values(**overrides) -> dict:
    now = utcnow().replace(microsecond=0, second=0)
    values = calls.default_values() | {
        "title": "Appel PTCE 2027", "slug": "ptce-2027", "opens_at": now + timedelta(days=1),
        "closes_at": now + timedelta(days=60), "envelope_eur": Decimal("3000000"),
        "max_amount_eur": Decimal("100000"), "awarding_body_name": "Ministère de l'Économie",
        "awarding_body_siret": "11000201100044",
        "categories": [{"code": "emergence", "label": "Émergence", "max_amount_eur": Decimal("50000"), "quota": 5}]}
    return values | overrides


def _audits(db, action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


# --- typed text -------------------------------------------------------------------------------------------

def test_paris_times_become_aware_utc_in_summer_and_winter():
    assert cs.parse_paris("2027-01-15", "17:00") == datetime(2027, 1, 15, 16, 0, tzinfo=UTC)
    assert cs.parse_paris("15/07/2027", "17h30") == datetime(2027, 7, 15, 15, 30, tzinfo=UTC)
    assert cs.parse_paris("", "") is None
    assert cs.split_paris(datetime(2027, 7, 15, 15, 30, tzinfo=UTC)) == ("2027-07-15", "17:30")


def test_a_paris_time_skipped_or_lived_twice_is_refused_with_a_clear_message():
    with pytest.raises(cs.SettingError, match="n'existe pas à Paris.*heure d'été"):
        cs.paris_to_utc(date(2027, 3, 28), time(2, 30))
    with pytest.raises(cs.SettingError, match="existe deux fois à Paris.*heure d'hiver"):
        cs.paris_to_utc(date(2027, 10, 31), time(2, 30))
    # just outside both changes
    assert cs.paris_to_utc(date(2027, 3, 28), time(3, 0)) == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert cs.paris_to_utc(date(2027, 10, 31), time(3, 0)) == datetime(2027, 10, 31, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("day,moment,message", [
    ("31/02/2027", "12:00", "n'existe pas : vérifiez"), ("2027-13-01", "12:00", "n'existe pas"),
    ("demain", "12:00", "JJ/MM/AAAA"), ("1e3", "12:00", "JJ/MM/AAAA"), ("01/01/1900", "12:00", "entre 2000"),
    ("2027-01-01", "25:00", "HH:MM"), ("2027-01-01", "12:75", "HH:MM"), ("2027-01-01", "", "aussi l'heure"),
    ("", "12:00", "aussi la date"), ("２０２７-01-01", "12:00", "JJ/MM/AAAA")])
def test_bad_dates_and_times_are_refused(day, moment, message):
    with pytest.raises(cs.SettingError, match=message):
        cs.parse_paris(day, moment)


@pytest.mark.parametrize("text,expected", [("50", Decimal("0.5")), ("12,5 %", Decimal("0.125")),
                                           ("100", Decimal("1")), ("0,01", Decimal("0.0001")), ("", None)])
def test_percentages_become_fractions(text, expected):
    assert cs.parse_percent(text) == expected


@pytest.mark.parametrize("text", ["0", "-5", "101", "1e3", "NaN", "50,123", "cinquante", "9" * 40])
def test_odd_percentages_are_refused(text):
    with pytest.raises(cs.SettingError):
        cs.parse_percent(text)


def test_slugs_are_ascii_and_cut_between_words():
    assert cs.slugify("Appel à projets PTCE 2027 !") == "appel-a-projets-ptce-2027"
    assert cs.slugify("Œuvre  — ÉTÉ/../x") == "uvre-ete-x"
    long = cs.slugify("mot " * 40)
    assert len(long) <= 80 and not long.endswith("-") and cs.SLUG.fullmatch(long)
    assert cs.code_of("Émergence rurale") == "emergence_rurale"


# --- every setting checked --------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value,message", [
    ("title", "", "obligatoire"), ("title", "x" * 201, "200"), ("title", "deux\nlignes", "une seule ligne"),
    ("description_md", "x" * 20_001, "20\u202f000 caractères"), ("slug", "Majuscules", "minuscules"), ("slug", "../admin", "minuscules"), ("slug", "a" * 81, "80"),
    ("envelope_eur", Decimal("-1"), "négatif"), ("envelope_eur", Decimal("0"), "supérieur à zéro"),
    ("envelope_eur", Decimal("1e12"), "trop élevé"), ("envelope_eur", Decimal("NaN"), "en euros"),
    ("envelope_eur", None, "obligatoire"), ("max_amount_eur", Decimal("3000000.01"), "dépasser l'enveloppe"),
    ("max_amount_eur", Decimal("10.001"), "trop précis"),
    ("max_state_share", Decimal("0"), "supérieur à 0"), ("max_state_share", Decimal("1.5"), "100"),
    ("max_state_share", None, "pourcentage"), ("disagreement_threshold", Decimal("0.00001"), "deux décimales"),
    ("reviewers_per_dossier", 0, "entre 1 et 10"), ("reviewers_per_dossier", 11, "entre 1 et 10"),
    ("reviewers_per_dossier", True, "entre 1 et 10"), ("awarding_body_siret", "11000201100045", "clé de contrôle"),
    ("awarding_body_siret", "123", "14 chiffres"), ("opens_at", None, "date et l'heure"),
    ("closes_at", datetime(2027, 1, 1, 12), "incorrectes"), ("has_regional_instruction", "oui", "incorrecte")])
def test_every_setting_is_checked(field, value, message):
    problems = cs.settings_problems(_values(**{field: value}))
    assert field in problems and message in problems[field], problems


def test_dates_must_follow_each_other():
    v = _values()
    assert "closes_at" in cs.settings_problems(_values(closes_at=v["opens_at"]))
    assert "closes_at" in cs.settings_problems(_values(closes_at=v["opens_at"] - timedelta(days=1)))
    assert "review_deadline_at" in cs.settings_problems(_values(review_deadline_at=v["closes_at"]))
    late = v["closes_at"] + timedelta(days=30)
    assert "regional_deadline_at" in cs.settings_problems(
        _values(review_deadline_at=v["closes_at"] + timedelta(days=10), regional_deadline_at=late))
    assert cs.settings_problems(_values(review_deadline_at=late, regional_deadline_at=late - timedelta(days=5))) == {}


def test_rows_and_rules_are_checked():
    rows = [{"code": "a", "label": "A", "max_amount_eur": Decimal("4000000"), "quota": None},
            {"code": "a", "label": "", "max_amount_eur": None, "quota": 10_001}]
    problems = cs.settings_problems(_values(categories=rows))
    assert {"categories-0-max_amount_eur", "categories-1-code", "categories-1-label", "categories-1-quota"} <= set(
        problems)
    docs = [{"code": "Statuts!", "label": "Statuts", "description": "", "is_required": True}]
    assert "document_types-0-code" in cs.settings_problems(_values(document_types=docs))
    settings = calls.default_values()["eligibility_settings"]
    settings["min_members"]["minimum"] = 0
    settings["siret"]["mode"] = "sometimes"
    problems = cs.settings_problems(_values(eligibility_settings=settings))
    assert "eligibility-min_members__minimum" in problems and "eligibility-siret" in problems


# --- the service ------------------------------------------------------------------------------------------

def test_a_new_call_is_a_draft_with_the_default_grid_and_what_was_typed(db, admin_user):
    call = calls.new_call(_values(), by=admin_user)
    db.session.commit()
    assert call.status == CallStatus.DRAFT
    assert [c.weight for c in call.criteria] == [25, 20, 15, 15, 15, 10]
    assert call.envelope_eur == Decimal("3000000.00") and isinstance(call.max_amount_eur, Decimal)
    assert [(c.code, c.max_amount_eur, c.quota) for c in call.categories] == [("emergence", Decimal("50000"), 5)]
    assert "statuts" in [d.code for d in call.document_types]
    assert _audits(db, "call.created")[-1].actor_id == admin_user.id


def test_a_refused_setting_changes_nothing(db, admin_user, make_call):
    make_call(slug="ptce-2027")
    with pytest.raises(DomainError, match="adresse courte") as refused:
        calls.new_call(_values(), by=admin_user)
    assert refused.value.field == "slug"
    with pytest.raises(DomainError) as refused:
        calls.new_call(_values(slug="autre", envelope_eur=Decimal("-5")), by=admin_user)
    assert refused.value.field == "envelope_eur"


def test_a_draft_changes_everything_and_the_change_is_audited_with_before_and_after(db, admin_user):
    call = calls.new_call(_values(), by=admin_user)
    db.session.commit()
    statuts_id = next(d.id for d in call.document_types if d.code == "statuts")
    values = calls.call_values(call) | {
        "title": "Appel PTCE 2027 — rural", "max_state_share": Decimal("0.6"),
        "categories": [{"code": "developpement", "label": "Développement", "max_amount_eur": None, "quota": None}],
        "document_types": [d for d in calls.call_values(call)["document_types"] if d["code"] != "rib"]}
    changed = calls.update_call(call, values, by=admin_user)
    db.session.commit()
    assert set(changed) == {"title", "max_state_share", "categories", "document_types"}
    assert call.max_state_share == Decimal("0.6") and [c.code for c in call.categories] == ["developpement"]
    assert "rib" not in [d.code for d in call.document_types]
    assert next(d.id for d in call.document_types if d.code == "statuts") == statuts_id  # kept, not recreated
    event = _audits(db, "call.updated")[-1]
    assert event.summary["before"]["title"] == "Appel PTCE 2027" and event.summary["after"]["max_state_share"] == "0.6"
    assert calls.update_call(call, calls.call_values(call), by=admin_user) == {}  # nothing new: nothing audited
    db.session.commit()
    assert len(_audits(db, "call.updated")) == 1


def test_once_open_only_the_deadline_can_move(db, admin_user, make_call):
    call = make_call(status=CallStatus.OPEN)
    for field, value in [("title", "Autre"), ("envelope_eur", Decimal("1")), ("opens_at", utcnow()),
                         ("categories", [{"code": "x", "label": "X", "max_amount_eur": None, "quota": 1}]),
                         ("document_types", []), ("eligibility_settings", {})]:
        with pytest.raises(DomainError, match="seule sa date limite") as refused:
            calls.update_call(call, {**calls.call_values(call), field: value}, by=admin_user)
        assert refused.value.field == field
    new = call.closes_at + timedelta(days=7)
    calls.update_call(call, {**calls.call_values(call), "closes_at": new}, by=admin_user)
    db.session.commit()
    assert call.closes_at == new
    [event] = _audits(db, "call.deadline_moved")
    assert event.summary["after"] == {"closes_at": new.isoformat()}


def test_an_open_deadline_cannot_move_into_the_past_nor_after_the_reviews(db, admin_user, make_call):
    now = utcnow()
    call = make_call(status=CallStatus.OPEN, review_deadline_at=now + timedelta(days=60))
    with pytest.raises(DomainError, match="déjà passée"):
        calls.move_deadline(call, now - timedelta(hours=1), by=admin_user, now=now)
    with pytest.raises(DomainError, match="précéder"):
        calls.move_deadline(call, now + timedelta(days=61), by=admin_user, now=now)
    call.status = CallStatus.REVIEW  # arrange
    with pytest.raises(DomainError, match="ne peut plus être modifiée"):
        calls.move_deadline(call, now + timedelta(days=40), by=admin_user, now=now)


def test_moving_the_deadline_mails_each_drafter_once_per_change(db, admin_user, make_call, make_dossier, make_user):
    call = make_call(status=CallStatus.OPEN)
    drafter, submitter = make_user(), make_user()
    make_dossier(call=call, owner=drafter, pole_name="Pôle brouillon")
    done = make_dossier(call=call, owner=submitter, pole_name="Pôle déposé", complete=True)
    from ptce_aap.services import submission  # noqa: PLC0415 — here only: a submitted dossier gets no mail
    submission.submit_dossier(done, by=submitter, now=utcnow())
    db.session.commit()
    first = call.closes_at + timedelta(days=7)
    calls.move_deadline(call, first, by=admin_user)
    calls.move_deadline(call, first, by=admin_user)  # the same again: no change, no mail
    db.session.commit()
    sent = db.session.scalars(sa.select(Notification).where(Notification.template == "deadline_moved")).all()
    assert [n.recipient for n in sent] == [drafter.email]
    assert sent[0].context["deadline_text"] == format_datetime(first) and sent[0].context["later"] is True
    assert sent[0].dedupe_key.endswith(f":{first:%Y%m%d%H%M}")
    # A second request that read the old deadline (a double click) makes the same change: no second mail.
    previous = call.closes_at - timedelta(days=7)
    call.closes_at = previous  # arrange: what the other request saw
    calls.move_deadline(call, first, by=admin_user)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.template == "deadline_moved")) == 1
    calls.move_deadline(call, first + timedelta(days=1), by=admin_user)  # a new change: a new mail
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.template == "deadline_moved")) == 2


def test_opening_lists_everything_missing(db, admin_user, make_call):
    call = make_call(status=CallStatus.DRAFT, awarding_body_siret="", has_regional_instruction=True)
    for doc in call.document_types:
        doc.is_required = False
    missing = dict(calls.missing_for_opening(call))
    assert set(missing) == {"document_types", "regional_deadline_at", "awarding_body_siret"}
    with pytest.raises(DomainError, match="sans pièce obligatoire ; .*avis régionaux ; .*SIRET"):
        calls.set_call_status(call, CallStatus.OPEN, by=admin_user)
    assert call.status == CallStatus.DRAFT


def test_a_past_call_is_duplicated_as_a_draft_with_its_settings_and_grid(db, admin_user, make_call):
    source = make_call(slug="ptce-2020", categories=[{"code": "rural", "label": "Rural", "quota": 3}],
                       max_state_share=Decimal("0.4"))
    source.criteria[0].weight = 40
    db.session.commit()
    values = calls.duplicate_values(source)
    assert values["title"].endswith("(copie)") and values["slug"] == "ptce-2020-copie"
    assert values["opens_at"] is None and values["closes_at"] is None
    with pytest.raises(DomainError) as refused:  # dates blank: they must be set
        calls.duplicate_call(source, values, by=admin_user)
    assert refused.value.field == "opens_at"
    now = utcnow().replace(microsecond=0)
    copy = calls.duplicate_call(source, values | {"opens_at": now + timedelta(days=1),
                                                  "closes_at": now + timedelta(days=9)}, by=admin_user)
    db.session.commit()
    assert copy.status == CallStatus.DRAFT and copy.id != source.id
    assert [c.weight for c in copy.criteria][0] == 40 and copy.max_state_share == Decimal("0.4")
    assert [(c.code, c.quota) for c in copy.categories] == [("rural", 3)]
    assert [d.code for d in copy.document_types] == [d.code for d in source.document_types]
    assert _audits(db, "call.duplicated")[-1].summary == {"before": {"from": "ptce-2020"},
                                                         "after": {"slug": "ptce-2020-copie"}}
    assert calls.duplicate_values(source)["slug"] == "ptce-2020-copie-2"
    assert db.session.scalar(sa.select(sa.func.count(Call.id))) == 2
