"""Amounts and numbers typed the French way (domain/money.py): what is accepted, what is refused with which
message, the bounds, ASCII digits only (issue 8 finding 5), and round trips (hypothesis)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptce_aap.domain.formatting import format_amount as displayed_amount  # as messages show amounts
from ptce_aap.domain.money import MAX_AMOUNT, AmountError, parse_amount, parse_decimal

NOT_AN_AMOUNT = "Saisissez un montant en euros, par exemple 12 500 ou 12 500,50."
NOT_A_NUMBER = "Saisissez un nombre, par exemple 2 ou 2,5."
CENT = Decimal("0.01")


@pytest.mark.parametrize(("text", "expected"), [
    ("12345", "12345.00"),
    ("12 345", "12345.00"),
    ("12\u00a0345", "12345.00"),          # no-break space
    ("12\u202f345,50", "12345.50"),       # narrow no-break space, as the app displays it
    ("12'345", "12345.00"),
    ("12 345,5 €", "12345.50"),
    ("12345.5", "12345.50"),
    ("12345,05", "12345.05"),
    ("12 500 EUR", "12500.00"),
    ("  7  ", "7.00"),
    ("0", "0.00"),
    ("0,01", "0.01"),
    ("999 999 999,99", "999999999.99"),
])
def test_parse_amount_accepts_french_typing(text, expected):
    value = parse_amount(text)
    assert value == Decimal(expected)
    assert value.as_tuple().exponent == -2  # always to the cent


@pytest.mark.parametrize("text", [None, "", "   ", "\u00a0", "€", " € "])
def test_parse_amount_empty_is_none(text):
    assert parse_amount(text) is None


@pytest.mark.parametrize("text", [
    "12,345,50", "1.000,50", "12.345", "12,345", "12,3456", "douze", "12 euros", "NaN", "Infinity",
    "inf", "1_000", "+12", "--1", "0x10", "12..5", ",5", "5,", "12€50",
    # Digits that are not ASCII: isdigit()/\d/Decimal() accept some of them, an amount must not.
    "²⁰¹⁹", "①②③", "١٢٣", "۱۲۳", "१२३", "１２３", "12３", "𝟏𝟐",
])
def test_parse_amount_refuses_what_is_not_an_amount(text):
    with pytest.raises(AmountError) as caught:
        parse_amount(text)
    assert str(caught.value) == NOT_AN_AMOUNT


@pytest.mark.parametrize("text", ["-1", "-0,01", "-12 345,50 €", "−12"])
def test_parse_amount_refuses_negative_amounts(text):
    """Issue 9 point 7: a negative amount is told so, not « n'est pas un nombre valide »."""
    with pytest.raises(AmountError, match="^Le montant doit être positif ou nul.$") as caught:
        parse_amount(text)
    assert caught.value.code == "negative"


@pytest.mark.parametrize("parse", [parse_amount, parse_decimal])
@pytest.mark.parametrize("text", ["1e3", "1E3", "1,5e3", "2e-2", "-1e3"])
def test_exponents_are_refused_with_their_own_message(parse, text):
    """« 1e3 » is not taken for 1 000: refused, saying how to write it."""
    with pytest.raises(AmountError, match="^Écrivez le nombre en chiffres, sans exposant : 1000 et non 1e3.$") as caught:
        parse(text)
    assert caught.value.code == "exponent"


@pytest.mark.parametrize("parse", [parse_amount, parse_decimal])
def test_minus_zero_is_zero(parse):
    assert str(parse("-0")) == "0.00"


def test_parse_amount_zero_is_refused_only_when_asked():
    assert parse_amount("0") == Decimal("0.00")
    assert parse_amount("0,01", allow_zero=False) == CENT
    for zero in ("0", "0,00", "-0"):
        with pytest.raises(AmountError, match="^Le montant doit être supérieur à zéro.$"):
            parse_amount(zero, allow_zero=False)


def test_parse_amount_maximum_fits_numeric_12_2():
    assert MAX_AMOUNT == Decimal("999999999.99")
    assert parse_amount("999999999.99") == MAX_AMOUNT
    for too_much in ("1000000000", "999999999999"):
        with pytest.raises(AmountError, match="^Ce montant est trop élevé : vérifiez le nombre de chiffres.$"):
            parse_amount(too_much)


def test_parse_amount_keeps_the_cents_exact():
    assert parse_amount("0,10") == Decimal("0.10")
    assert parse_amount("180 000,01") - parse_amount("180 000") == CENT


# --- parse_decimal (full-time equivalents…) -------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2", "2.00"), ("2,5", "2.50"), ("2.5", "2.50"), (" 0 ", "0.00"), ("1 000", "1000.00"), (",5", "0.50"),
    ("5,", "5.00"), ("+3", "3.00"), ("100000", "100000.00"), ("2,555", "2.56"),
])
def test_parse_decimal_accepts(text, expected):
    assert parse_decimal(text) == Decimal(expected)


@pytest.mark.parametrize("text", [None, "", "  "])
def test_parse_decimal_empty_is_none(text):
    assert parse_decimal(text) is None


@pytest.mark.parametrize("text", [
    "deux", "1,2,3", "NaN", "Infinity", "-inf", "1_0", "0x1", ".", "2..5",
    "²", "①", "٢٫٥", "٢", "२", "２",
])
def test_parse_decimal_refuses_what_is_not_a_number(text):
    with pytest.raises(AmountError) as caught:
        parse_decimal(text)
    assert str(caught.value) == NOT_A_NUMBER


@pytest.mark.parametrize("text", ["-1", "-0,5", "−2"])
def test_parse_decimal_refuses_negative_numbers(text):
    with pytest.raises(AmountError, match="^Le nombre doit être positif ou nul, par exemple 2 ou 2,5.$") as caught:
        parse_decimal(text)
    assert caught.value.code == "negative"


def test_parse_decimal_maximum():
    assert parse_decimal("100000") == Decimal("100000")
    with pytest.raises(AmountError, match="^Ce nombre est trop élevé : vérifiez votre saisie.$"):
        parse_decimal("100000,01")
    assert parse_decimal("12", maximum=Decimal("12")) == Decimal("12")
    with pytest.raises(AmountError, match="trop élevé"):
        parse_decimal("12,01", maximum=Decimal("12"))


# --- Round trips ---------------------------------------------------------------------------------

cents = st.integers(min_value=0, max_value=int(MAX_AMOUNT * 100)).map(lambda c: Decimal(c) / 100)


def french(value: Decimal, separator: str, decimal_mark: str, suffix: str) -> str:
    """``value`` as a person would type it: thousands grouped by ``separator``, cents after ``decimal_mark``."""
    whole, _, fraction = f"{value:.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return separator.join(groups) + decimal_mark + fraction + suffix


@given(value=cents, separator=st.sampled_from(["", " ", "\u00a0", "\u202f", "'"]),
       decimal_mark=st.sampled_from([",", "."]), suffix=st.sampled_from(["", " €", "€", " EUR"]))
def test_typed_amount_round_trip(value, separator, decimal_mark, suffix):
    assert parse_amount(french(value, separator, decimal_mark, suffix)) == value


@given(value=cents)
def test_displayed_amount_parses_back(value):
    """What the app shows (« 12 345,50 € ») typed back into a form gives the same amount."""
    assert parse_amount(displayed_amount(value)) == value


@given(value=cents)
def test_parse_amount_is_idempotent_on_its_own_output(value):
    assert parse_amount(str(value)) == value
    assert parse_amount(str(parse_amount(str(value)))) == value


@given(text=st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=6))
def test_only_ascii_digits_make_an_amount(text):
    if text.isascii():
        assert parse_amount(text) == Decimal(text)  # six digits at most: under the maximum
    else:
        with pytest.raises(AmountError):
            parse_amount(text)
        with pytest.raises(AmountError):
            parse_decimal(text)
