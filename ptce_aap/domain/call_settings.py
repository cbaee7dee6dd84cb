"""A call's settings as the secretariat types them (SPEC §2): Paris date and time into aware UTC (summer and
winter time changes refused with a clear message), percentages into fractions, slugs, counts, and the checks
of a whole set of settings (``settings_problems``). Pure: no Flask, no database.

Messages are French and say what to type instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.fr import siret as siret_mod

from ptce_aap.domain.eligibility import CATALOG
from ptce_aap.domain.formatting import PARIS
from ptce_aap.domain.messages import N_, Message, Number
from ptce_aap.domain.money import MAX_AMOUNT, ascii_int
from ptce_aap.domain.text import name_problem

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 80
TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
CODE = re.compile(r"[a-z0-9_]{1,40}")
MAX_REVIEWERS = 10
MAX_QUOTA = 10_000
FIRST_YEAR, LAST_YEAR = 2000, 2100
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_FR_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_TIME = re.compile(r"([0-9]{1,2})(?::|h|H)([0-9]{2})?(?::[0-9]{2})?")
_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?")
_SPACES = re.compile(r"[\s\u00a0\u202f]")


class SettingError(ValueError):
    """A typed setting is not acceptable; ``message`` (and ``str(exc)``) is a French message, translatable
    (``domain.messages``)."""

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message


# --- typed text -> values ----------------------------------------------------------------------------

def parse_date(text: str | None) -> date | None:
    """``2027-03-31`` (a date field) or ``31/03/2027`` → a date; empty → ``None``."""
    text = (text or "").strip()
    if not text:
        return None
    iso, french = _ISO_DATE.fullmatch(text), _FR_DATE.fullmatch(text)
    if iso:
        year, month, day = (int(x) for x in iso.groups())
    elif french:
        day, month, year = (int(x) for x in french.groups())
    else:
        raise SettingError(N_("Saisissez une date au format JJ/MM/AAAA, par exemple 31/03/2027."))
    try:
        value = date(year, month, day)
    except ValueError:
        raise SettingError(N_("Cette date n'existe pas : vérifiez le jour et le mois.")) from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise SettingError(N_("Saisissez une année entre %(first)s et %(last)s.", first=FIRST_YEAR, last=LAST_YEAR))
    return value


def parse_time(text: str | None) -> time | None:
    """``17:00``, ``17h``, ``17h30`` → a time; empty → ``None``."""
    text = (text or "").strip()
    if not text:
        return None
    match = _TIME.fullmatch(text)
    hour = int(match.group(1)) if match else 99
    minute = int(match.group(2) or 0) if match else 99
    if hour > 23 or minute > 59:
        raise SettingError(N_("Saisissez une heure au format HH:MM, par exemple 17:00."))
    return time(hour, minute)


def paris_to_utc(day: date, moment: time) -> datetime:
    """The aware UTC instant of ``day`` at ``moment`` in Paris. A time that does not exist (the spring change,
    02:00–03:00 skipped) or that happens twice (the autumn change, 02:00–03:00 lived twice) is refused."""
    naive = datetime.combine(day, moment)
    first, second = naive.replace(tzinfo=PARIS, fold=0), naive.replace(tzinfo=PARIS, fold=1)
    shown = {"day": f"{day:%d/%m/%Y}", "time": f"{moment:%H:%M}"}
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None)
        if back != naive:
            raise SettingError(N_(
                "Le %(day)s à %(time)s n'existe pas à Paris : cette nuit-là, on passe à l'heure d'été et les "
                "horloges sautent de 2 h à 3 h. Choisissez une autre heure, par exemple 03:00.", **shown))
        raise SettingError(N_(
            "Le %(day)s à %(time)s existe deux fois à Paris : cette nuit-là, on passe à l'heure d'hiver et les "
            "horloges reviennent de 3 h à 2 h. Choisissez une heure avant 02:00 ou à partir de 03:00.", **shown))
    return first.astimezone(UTC)


def parse_paris(date_text: str | None, time_text: str | None) -> datetime | None:
    """A date and a time typed in Paris time → aware UTC; both empty → ``None``; one without the other refused."""
    day, moment = parse_date(date_text), parse_time(time_text)
    if day is None and moment is None:
        return None
    if day is None:
        raise SettingError(N_("Indiquez aussi la date."))
    if moment is None:
        raise SettingError(N_("Indiquez aussi l'heure, par exemple 17:00."))
    return paris_to_utc(day, moment)


def split_paris(value: datetime | None) -> tuple[str, str]:
    """An aware datetime as the ``(YYYY-MM-DD, HH:MM)`` Paris values of a date field and a time field."""
    if value is None:
        return "", ""
    local = value.astimezone(PARIS)
    return f"{local:%Y-%m-%d}", f"{local:%H:%M}"


def parse_percent(text: str | None) -> Decimal | None:
    """``50``, ``50 %``, ``12,5`` → the fraction (``Decimal("0.5")``); empty → ``None``. Above 0, at most 100."""
    cleaned = _SPACES.sub("", text or "").removesuffix("%").replace(",", ".")
    if not cleaned:
        return None
    if not _PERCENT.fullmatch(cleaned):
        raise SettingError(N_("Saisissez un pourcentage entre 0 et 100, par exemple 50 ou 12,5."))
    value = Decimal(cleaned)
    if value <= 0 or value > 100:
        raise SettingError(N_("Saisissez un pourcentage supérieur à 0 et au plus égal à 100."))
    return (value / 100).quantize(Decimal("0.0001"))


def parse_count(text: str | None, *, maximum: int) -> int | None:
    """A whole number written in ASCII digits, from 0 to ``maximum``; empty → ``None``."""
    text = _SPACES.sub("", text or "")
    if not text:
        return None
    value = ascii_int(text, maximum=maximum)
    if value is None:
        raise SettingError(N_("Saisissez un nombre entier entre 0 et %(maximum)s.",
                              maximum=Number(maximum)))
    return value


def slugify(text: str | None, *, max_length: int = SLUG_MAX) -> str:
    """``Appel à projets PTCE 2027 !`` → ``appel-a-projets-ptce-2027`` (ASCII, cut between words)."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] if "-" in slug[:max_length] else slug[:max_length]
    return slug


def code_of(label: str | None) -> str:
    """A row's code from its label: ``Émergence`` → ``emergence``."""
    return slugify(label, max_length=40).replace("-", "_")


def siret_problem(value: str) -> str | None:
    try:
        siret_mod.validate(value)
    except InvalidChecksum:
        return N_("Ce numéro SIRET n'est pas valide : sa clé de contrôle est incorrecte. Vérifiez chaque chiffre.")
    except ValidationError:
        return N_("Ce numéro SIRET n'est pas valide : il doit comporter 14 chiffres.")
    return None


# --- a whole set of settings ---------------------------------------------------------------------------

# The parameters a rule of the catalog takes, with their kind: ``("int", minimum, maximum)`` or ``"bool"``.
RULE_PARAMETERS: dict[str, dict[str, tuple | str]] = {
    rule.code: {name: "bool" if isinstance(default, bool) else ("int", 1, 100)
                for name, default in rule.default_params.items()}
    for rule in CATALOG}
MODES = ("blocking", "advisory", "off")


def eligibility_problems(settings: Mapping) -> dict[str, str]:
    """``{"eligibility-<code>": message}`` for a rule whose mode is wrong, ``eligibility-<code>__<parameter>``
    for a wrong parameter."""
    problems = {}
    for rule in CATALOG:
        values = settings.get(rule.code)
        if not isinstance(values, Mapping) or values.get("mode") not in MODES:
            problems[f"eligibility-{rule.code}"] = N_("Choisissez le mode de cette règle.")
            continue
        for name, kind in RULE_PARAMETERS[rule.code].items():
            value = values.get(name)
            if kind == "bool":
                ok = isinstance(value, bool)
            else:
                ok = isinstance(value, int) and not isinstance(value, bool) and kind[1] <= value <= kind[2]
            if not ok:
                problems[f"eligibility-{rule.code}__{name}"] = N_("Paramètre incorrect.") if kind == "bool" else \
                    N_("Saisissez un nombre entier entre %(low)s et %(high)s.", low=kind[1], high=kind[2])
        unknown = set(values) - {"mode", *RULE_PARAMETERS[rule.code]}
        if unknown:
            problems[f"eligibility-{rule.code}"] = N_("Paramètre inconnu : %(names)s.",
                                                        names=", ".join(sorted(unknown)))
    return problems


def _money_problem(value, *, required: bool, positive: bool = True) -> str | None:
    if value is None:
        return N_("Ce montant est obligatoire.") if required else None
    if not isinstance(value, Decimal) or not value.is_finite():
        return N_("Saisissez un montant en euros.")
    if value < 0:
        return N_("Le montant ne peut pas être négatif.")
    if positive and value == 0:
        return N_("Le montant doit être supérieur à zéro.")
    if value > MAX_AMOUNT or value != value.quantize(Decimal("0.01")):
        return N_("Ce montant est trop élevé ou trop précis : vérifiez le nombre de chiffres.")
    return None


def _fraction_problem(value) -> str | None:
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 < value <= 1:
        return N_("Saisissez un pourcentage supérieur à 0 et au plus égal à 100.")
    if value != value.quantize(Decimal("0.0001")):
        return N_("Saisissez un pourcentage avec deux décimales au plus.")
    return None


def _text_problem(value, *, max_length: int, required: bool, single_line: bool = True) -> str | None:
    if not isinstance(value, str) or (required and not value.strip()):
        return N_("Ce champ est obligatoire.") if required else N_("Texte incorrect.")
    if len(value) > max_length:
        return N_("%(max)s caractères au maximum.", max=Number(max_length))
    if single_line and name_problem(value, max_length=max_length):
        return N_("Écrivez ce texte sur une seule ligne, sans adresse web ni caractère de contrôle.")
    return None


def _dates_problems(v: Mapping) -> dict[str, str]:
    problems = {}
    opens, closes = v.get("opens_at"), v.get("closes_at")
    for name in ("opens_at", "closes_at", "review_deadline_at", "regional_deadline_at"):
        value = v.get(name)
        if value is None and name in ("opens_at", "closes_at"):
            problems[name] = N_("Indiquez la date et l'heure.")
        elif value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            problems[name] = N_("Date et heure incorrectes.")
    if problems:
        return problems
    if closes <= opens:
        problems["closes_at"] = N_("La date limite de dépôt doit être postérieure à l'ouverture de l'appel.")
    review, regional = v.get("review_deadline_at"), v.get("regional_deadline_at")
    if review is not None and review <= closes:
        problems["review_deadline_at"] = N_("La date limite des évaluations doit être postérieure à la date limite de dépôt.")
    problem = regional_deadline_problem(regional, closes_at=closes, review_deadline_at=review)
    if problem:
        problems["regional_deadline_at"] = problem
    return problems


def regional_deadline_problem(regional: datetime | None, *, closes_at: datetime,
                              review_deadline_at: datetime | None) -> str | None:
    """Why ``regional`` cannot be the regional deadline (the rule: closes_at < regional ≤ review deadline when
    both are set), else None. Used by the call's settings and by the regional instruction page alike."""
    if regional is None:
        return None
    if regional <= closes_at:
        return N_("La date limite des avis régionaux doit être postérieure à la date limite de dépôt.")
    if review_deadline_at is not None and regional > review_deadline_at:
        return N_("La date limite des avis régionaux doit précéder la date limite des évaluations nationales.")
    return None


def _row_problems(rows, kind: str, envelope) -> dict[str, str]:
    problems, seen = {}, set()
    for i, row in enumerate(rows or []):
        where = f"{kind}-{i}"
        code = row.get("code")
        if _text_problem(row.get("label"), max_length=200, required=True):
            problems[f"{where}-label"] = N_("Indiquez un libellé d'une ligne (200 caractères au maximum).")
        if not isinstance(code, str) or not CODE.fullmatch(code):
            problems[f"{where}-code"] = N_("Le code s'écrit en minuscules sans accent, chiffres et « _ » "
                                         "(40 caractères au maximum).")
        elif code in seen:
            problems[f"{where}-code"] = N_("Ce code est déjà utilisé par une autre ligne.")
        seen.add(code)
        if kind == "categories":
            cap = _money_problem(row.get("max_amount_eur"), required=False)
            if cap:
                problems[f"{where}-max_amount_eur"] = cap
            elif isinstance(envelope, Decimal) and row.get("max_amount_eur") is not None \
                    and row["max_amount_eur"] > envelope:
                problems[f"{where}-max_amount_eur"] = N_("Le plafond de la catégorie dépasse l'enveloppe de l'appel.")
            quota = row.get("quota")
            if quota is not None and (not isinstance(quota, int) or not 0 <= quota <= MAX_QUOTA):
                problems[f"{where}-quota"] = N_("Saisissez un nombre entier entre 0 et %(maximum)s.",
                                                   maximum=MAX_QUOTA)
        elif _text_problem(row.get("description", ""), max_length=2000, required=False, single_line=False):
            problems[f"{where}-description"] = N_("2 000 caractères au maximum.")
    return problems


# Words a call's slug may not be: the static segments of the URLs where a slug stands (/admin/appels/nouveau…),
# or the call would be unreachable there. tests/unit/test_call_slugs.py derives them from the URL map.
RESERVED_SLUGS = frozenset({"nouveau"})


# The signatory of the decision letters (``Call.signatory_name``, ``Call.signatory_title``): optional, one line each.
SIGNATORY_MAX = {"signatory_name": 200, "signatory_title": 200}


def signatory_problems(v: Mapping) -> dict[str, str]:
    """The problems of the signatory's name and title (one line, no web address, 200 characters at most), by
    setting name; part of ``settings_problems`` and checked alone once the call has opened."""
    return {name: problem for name, max_length in SIGNATORY_MAX.items()
            if (problem := _text_problem(v.get(name, ""), max_length=max_length, required=False))}


def settings_problems(v: Mapping) -> dict[str, str]:
    """Every problem of a call's settings (typed values, see ``services.calls.SETTINGS``), by setting name;
    rows as ``categories-<i>-<field>`` / ``document_types-<i>-<field>``. Empty when all is well."""
    problems: dict[str, str] = {}
    for name, max_length in (("title", TITLE_MAX), ("awarding_body_name", 200)):
        if problem := _text_problem(v.get(name, ""), max_length=max_length, required=name == "title"):
            problems[name] = problem
    problems |= signatory_problems(v)
    slug = v.get("slug")
    if not isinstance(slug, str) or not SLUG.fullmatch(slug) or len(slug) > SLUG_MAX:
        problems["slug"] = N_("L'adresse courte s'écrit en minuscules sans accent, chiffres et tirets, par exemple "
                            "ptce-2027 (80 caractères au maximum).")
    elif slug in RESERVED_SLUGS:
        problems["slug"] = N_("« %(slug)s » est un mot réservé des adresses de la plateforme : choisissez-en une autre.",
                              slug=slug)
    if problem := _text_problem(v.get("description_md", ""), max_length=DESCRIPTION_MAX, required=False,
                                single_line=False):
        problems["description_md"] = problem
    problems |= _dates_problems(v)
    for name in ("envelope_eur", "max_amount_eur"):
        if problem := _money_problem(v.get(name), required=True):
            problems[name] = problem
    envelope, cap = v.get("envelope_eur"), v.get("max_amount_eur")
    if "envelope_eur" not in problems and "max_amount_eur" not in problems and cap > envelope:
        problems["max_amount_eur"] = N_("Le montant maximal par dossier ne peut pas dépasser l'enveloppe de l'appel.")
    for name in ("max_state_share", "disagreement_threshold"):
        if problem := _fraction_problem(v.get(name)):
            problems[name] = problem
    reviewers = v.get("reviewers_per_dossier")
    if not isinstance(reviewers, int) or isinstance(reviewers, bool) or not 1 <= reviewers <= MAX_REVIEWERS:
        problems["reviewers_per_dossier"] = N_("Saisissez un nombre entier entre %(low)s et %(high)s.", low=1,
                                                  high=MAX_REVIEWERS)
    if not isinstance(v.get("has_regional_instruction"), bool):
        problems["has_regional_instruction"] = N_("Valeur incorrecte.")
    siret = v.get("awarding_body_siret", "")
    if siret and (problem := siret_problem(siret)):
        problems["awarding_body_siret"] = problem
    envelope = None if "envelope_eur" in problems else envelope
    problems |= _row_problems(v.get("categories"), "categories", envelope)
    problems |= _row_problems(v.get("document_types"), "document_types", envelope)
    problems |= eligibility_problems(v.get("eligibility_settings") or {})
    return problems


def deadline_problem(closes_at: datetime, *, opens_at: datetime, review_deadline_at: datetime | None,
                     regional_deadline_at: datetime | None, now: datetime, is_open: bool) -> str | None:
    """Why the deadline of an open (or closed) call cannot move to ``closes_at``, else ``None``."""
    if closes_at <= opens_at:
        return N_("La date limite de dépôt doit être postérieure à l'ouverture de l'appel.")
    if is_open and closes_at <= now + timedelta(minutes=1):
        return N_("La nouvelle date limite est déjà passée : pour clore l'appel maintenant, utilisez « Clore "
                "l'appel ».")
    for other in (review_deadline_at, regional_deadline_at):
        if other is not None and closes_at >= other:
            return N_("La date limite de dépôt doit précéder les dates limites des évaluations et des avis régionaux.")
    return None
