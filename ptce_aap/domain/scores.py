"""Score maths of the reviews (issue 10, points 6 and 8): pure, Decimal, no Flask, no database.

The scale. A review's **weighted total** is ``Σ(weight × score) / Σ(weight × max_score)`` rescaled to
``SCALE`` (100): 100 means every criterion at its maximum, whatever the weights and maxima of the grid.

Rounding. Everything is computed exactly (``Fraction`` for the totals, Decimal at 28 digits for means and
standard deviations); a number is rounded only when it is shown or returned in a ``DossierScore``: to one
decimal, half up (``ROUND_HALF_UP``). The running total of the scoring form (``static/review.js``) uses the
same integer formula as ``rounded_total`` — ``(2·num·1000 + den) // (2·den)`` tenths with
``num = Σ weight·score`` and ``den = Σ weight·max`` — so the browser and the server always agree.

A dossier's **mean** is the plain mean of the weighted totals of its submitted reviews. Its **spread** is
``(max − min) / SCALE`` of those totals, a fraction of the scale; the reviews **disagree** when the spread
is strictly above the call's ``disagreement_threshold``.

The **calibrated score** removes each reviewer's severity: each total becomes the reviewer's z-score
``(total − reviewer's mean) / reviewer's sd`` over all their submitted reviews of the call, rescaled to
the call's distribution ``mean_all + z × sd_all`` (all submitted reviews of the call), clamped to
``0..SCALE``. Standard deviations are population ones (divided by n). A reviewer with a single review, or
whose totals are all equal (sd = 0), cannot be calibrated: their totals are kept as they are, and the
dossier says so (``uncalibrated``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

SCALE = 100
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Line:
    """One criterion of a review: its weight and maximum (from the grid) and the score given (or None)."""

    weight: int
    max_score: int
    score: int | None


def total_from_sums(num: int, den: int) -> Decimal:
    """``num / den`` on 0..SCALE, with ``num = Σ weight × score`` and ``den = Σ weight × max_score`` (the
    database sums ``num`` for a whole call at once: ``services.reviews.submitted_totals``)."""
    value = Fraction(num * SCALE, den)
    with localcontext() as ctx:
        ctx.prec = 28
        return Decimal(value.numerator) / Decimal(value.denominator)


def weighted_total(lines: Sequence[Line], *, partial: bool = False) -> Decimal | None:
    """The exact weighted total on 0..SCALE (Decimal at 28 digits); None when a score is missing (with
    ``partial``, a missing score counts as 0: the running total of a review being written)."""
    if not lines or (not partial and any(line.score is None for line in lines)):
        return None
    return total_from_sums(sum(line.weight * (line.score or 0) for line in lines),
                           sum(line.weight * line.max_score for line in lines))


def rounded_total(lines: Sequence[Line], *, partial: bool = False) -> Decimal | None:
    """The weighted total rounded half up to one decimal, in integers (the formula of ``static/review.js``)."""
    if not lines or (not partial and any(line.score is None for line in lines)):
        return None
    num = sum(line.weight * (line.score or 0) for line in lines)
    den = sum(line.weight * line.max_score for line in lines)
    tenths = (2 * num * SCALE * 10 + den) // (2 * den)
    return Decimal(tenths) / 10


def rounded(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(TENTH, rounding=ROUND_HALF_UP)


def mean(values: Iterable[Decimal]) -> Decimal | None:
    values = list(values)
    if not values:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        return sum(values, Decimal(0)) / len(values)


def population_sd(values: Sequence[Decimal]) -> Decimal | None:
    """√(Σ(x − mean)² / n); None for no value."""
    centre = mean(values)
    if centre is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        return (sum(((v - centre) ** 2 for v in values), Decimal(0)) / len(values)).sqrt()


def spread(totals: Sequence[Decimal]) -> Decimal | None:
    """``(max − min) / SCALE``: how far apart the reviewers are, as a fraction of the scale (None under 2)."""
    if len(totals) < 2:
        return None
    return (max(totals) - min(totals)) / SCALE


def disagrees(spread_value: Decimal | None, threshold: Decimal) -> bool:
    return spread_value is not None and spread_value > threshold


@dataclass(frozen=True)
class ReviewTotal:
    """A submitted review's exact weighted total, with who wrote it and on which dossier."""

    review_id: int
    reviewer_id: int
    dossier_id: int
    total: Decimal


@dataclass(frozen=True)
class Calibration:
    calibrated: dict[int, Decimal]  # review id → calibrated total (the raw total for an uncalibrated reviewer)
    uncalibrated_reviewers: frozenset[int]
    mean_all: Decimal | None
    sd_all: Decimal | None


def calibrate(totals: Sequence[ReviewTotal]) -> Calibration:
    """Each review's calibrated total over all the submitted reviews of a call (see the module's doc)."""
    all_values = [t.total for t in totals]
    mean_all, sd_all = mean(all_values), population_sd(all_values)
    by_reviewer: dict[int, list[ReviewTotal]] = defaultdict(list)
    for t in totals:
        by_reviewer[t.reviewer_id].append(t)
    calibrated, uncalibrated = {}, set()
    with localcontext() as ctx:
        ctx.prec = 28
        for reviewer_id, mine in by_reviewer.items():
            values = [t.total for t in mine]
            own_mean, own_sd = mean(values), population_sd(values)
            if len(values) < 2 or not own_sd:
                uncalibrated.add(reviewer_id)
                calibrated.update({t.review_id: t.total for t in mine})
                continue
            for t in mine:
                z = (t.total - own_mean) / own_sd
                calibrated[t.review_id] = min(max(mean_all + z * sd_all, Decimal(0)), Decimal(SCALE))
    return Calibration(calibrated, frozenset(uncalibrated), mean_all, sd_all)


@dataclass(frozen=True)
class DossierScore:
    """What the committee reads of a dossier's reviews; numbers rounded to one decimal (spread: to 0.001)."""

    mean: Decimal | None
    calibrated: Decimal | None
    spread: Decimal | None  # a fraction of the scale (0.35 = 35 points out of 100)
    disagreement: bool
    submitted: int
    uncalibrated: bool  # at least one of its reviews comes from a reviewer who could not be calibrated


def dossier_score(totals: Sequence[ReviewTotal], calibration: Calibration, threshold: Decimal) -> DossierScore:
    """The score of one dossier from its submitted reviews' totals and the call's calibration."""
    values = [t.total for t in totals]
    gap = spread(values)
    return DossierScore(
        mean=rounded(mean(values)),
        calibrated=rounded(mean(calibration.calibrated[t.review_id] for t in totals)),
        spread=None if gap is None else gap.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP),
        disagreement=disagrees(gap, threshold),
        submitted=len(values),
        uncalibrated=any(t.reviewer_id in calibration.uncalibrated_reviewers for t in totals),
    )


def call_scores(totals: Sequence[ReviewTotal], threshold: Decimal) -> tuple[dict[int, DossierScore], Calibration]:
    """Every dossier's score (keyed by dossier id) from all the submitted reviews' totals of one call."""
    calibration = calibrate(totals)
    by_dossier: dict[int, list[ReviewTotal]] = defaultdict(list)
    for t in totals:
        by_dossier[t.dossier_id].append(t)
    return {d: dossier_score(ts, calibration, threshold) for d, ts in by_dossier.items()}, calibration
