"""French formatting (``domain.formatting``): amounts, numbers, shares, Paris time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ptce_aap.domain.formatting import (
    format_amount,
    format_date,
    format_datetime,
    format_number,
    format_share,
    format_size,
    paris_today,
    to_paris,
)

NNBSP = "\u202f"  # narrow no-break space: French thousands separator
NBSP = "\u00a0"


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("0"), "0 €"),
    (Decimal("950"), "950 €"),
    (Decimal("1000"), f"1{NNBSP}000 €"),
    (Decimal("120000.00"), f"120{NNBSP}000 €"),
    (Decimal("120000.5"), f"120{NNBSP}000,50 €"),
    (Decimal("72500.05"), f"72{NNBSP}500,05 €"),
    (Decimal("999999999.99"), f"999{NNBSP}999{NNBSP}999,99 €"),
    (1234567, f"1{NNBSP}234{NNBSP}567 €"),
])
def test_format_amount_french_groups_with_narrow_no_break_space(value, text):
    assert format_amount(value) == text


def test_format_amount_none_is_a_dash():
    assert format_amount(None) == "—"


def test_format_amount_english():
    assert format_amount(Decimal("120000.5"), "en") == "120,000.50 €"
    assert format_amount(Decimal("120000"), "en") == "120,000 €"


@pytest.mark.parametrize(("value", "locale", "text"), [
    (1234567, "fr", f"1{NNBSP}234{NNBSP}567"),
    (Decimal("2.5"), "fr", "2,5"),
    (Decimal("2.50"), "fr", "2,5"),
    (12, "fr", "12"),
    (1234567, "en", "1,234,567"),
    (None, "fr", "—"),
])
def test_format_number(value, locale, text):
    assert format_number(value, locale) == text


def test_format_share():
    assert format_share(Decimal("0.5")) == f"50{NBSP}%"
    assert format_share(Decimal("0.425")) == f"42,5{NBSP}%"
    assert format_share(Decimal("0.5"), "en") == "50%"


@pytest.mark.parametrize(("utc", "text"), [
    # Winter time (UTC+1)
    (datetime(2027, 1, 15, 11, 0, tzinfo=UTC), "15/01/2027 à 12:00 (heure de Paris)"),
    # Spring forward, Sunday 28 March 2027 at 01:00 UTC: 02:00 CET becomes 03:00 CEST
    (datetime(2027, 3, 28, 0, 59, tzinfo=UTC), "28/03/2027 à 01:59 (heure de Paris)"),
    (datetime(2027, 3, 28, 1, 0, tzinfo=UTC), "28/03/2027 à 03:00 (heure de Paris)"),
    # Summer time (UTC+2)
    (datetime(2027, 3, 29, 10, 0, tzinfo=UTC), "29/03/2027 à 12:00 (heure de Paris)"),
    # Fall back, Sunday 31 October 2027 at 01:00 UTC: 03:00 CEST becomes 02:00 CET
    (datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "31/10/2027 à 02:30 (heure de Paris)"),
    (datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "31/10/2027 à 02:30 (heure de Paris)"),
    (datetime(2027, 10, 31, 2, 0, tzinfo=UTC), "31/10/2027 à 03:00 (heure de Paris)"),
])
def test_format_datetime_shows_paris_time_across_dst(utc, text):
    assert format_datetime(utc) == text


def test_format_datetime_same_instant_whatever_the_zone_given():
    new_york = datetime(2027, 3, 28, 6, 0, tzinfo=timezone(timedelta(hours=-5)))  # 11:00 UTC
    assert format_datetime(new_york) == "28/03/2027 à 13:00 (heure de Paris)"


def test_format_datetime_english_and_date_only():
    value = datetime(2027, 3, 29, 10, 0, tzinfo=UTC)
    assert format_datetime(value, "en") == "29/03/2027 12:00 (Paris time)"
    assert format_datetime(value, with_time=False) == "29/03/2027"
    assert format_datetime(None) == ""


def test_format_date_takes_the_paris_day():
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already 1 January in Paris
    assert format_date(new_year) == "01/01/2027"
    assert paris_today(new_year) == date(2027, 1, 1)
    assert format_date(date(2027, 3, 28)) == "28/03/2027"
    assert format_date(None) == ""


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        format_datetime(datetime(2027, 3, 28, 12, 0))  # noqa: DTZ001
    assert to_paris(None) is None


@pytest.mark.parametrize(("size", "locale", "text"), [
    (0, "fr", "0 octet"),
    (1, "fr", "1 octet"),
    (12, "fr", "12 octets"),
    (1023, "fr", f"1{NNBSP}023 octets"),
    (1024, "fr", "1 ko"),
    (350 * 1024, "fr", "350 ko"),
    (int(1.2 * 1024 * 1024), "fr", "1,2 Mo"),
    (1500 * 1024 * 1024, "fr", f"1{NNBSP}500 Mo"),
    (int(1.2 * 1024 * 1024), "en", "1.2 MB"),
    (12, "en", "12 bytes"),
    (None, "fr", "—"),
])
def test_format_size(size, locale, text):
    assert format_size(size, locale) == text


def test_a_letter_s_date_is_written_in_words_on_the_paris_day():
    from datetime import UTC, date, datetime

    from ptce_aap.domain.formatting import format_long_date

    assert format_long_date(date(2014, 1, 20)) == "20 janvier 2014"
    assert format_long_date(date(2014, 8, 1)) == "1er août 2014"
    assert format_long_date(datetime(2013, 12, 31, 23, 30, tzinfo=UTC)) == "1er janvier 2014"  # already in Paris
    assert format_long_date(None) == ""
