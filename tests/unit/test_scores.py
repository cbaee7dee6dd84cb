"""Score maths against hand-computed cases (the arithmetic is written next to each expected value)."""

from decimal import Decimal

from ptce_aap.domain.scores import (
    Line,
    ReviewTotal,
    calibrate,
    call_scores,
    population_sd,
    rounded_total,
    spread,
    weighted_total,
)

# The SPEC §4 grid: weights 25, 20, 15, 15, 15, 10 (sum 100), every criterion out of 5.
WEIGHTS = [25, 20, 15, 15, 15, 10]


def review(*scores):
    return [Line(w, 5, s) for w, s in zip(WEIGHTS, scores, strict=True)]


def test_weighted_total_of_the_default_grid():
    # 25·4 + 20·3 + 15·5 + 15·2 + 15·4 + 10·1 = 100 + 60 + 75 + 30 + 60 + 10 = 335; max 100·5 = 500
    # 335 / 500 × 100 = 67
    assert weighted_total(review(4, 3, 5, 2, 4, 1)) == Decimal(67)
    assert weighted_total(review(5, 5, 5, 5, 5, 5)) == Decimal(100)
    assert weighted_total(review(0, 0, 0, 0, 0, 0)) == Decimal(0)


def test_weights_and_maxima_mix():
    # weights 2 and 1, maxima 4 and 10: (2·3 + 1·7) / (2·4 + 1·10) = 13/18 = 72.222… → 72.2
    lines = [Line(2, 4, 3), Line(1, 10, 7)]
    assert round(weighted_total(lines), 6) == Decimal("72.222222")
    assert rounded_total(lines) == Decimal("72.2")
    # (2·1 + 1·0) / 18 × 100 = 11.111… → 11.1
    assert rounded_total([Line(2, 4, 1), Line(1, 10, 0)]) == Decimal("11.1")


def test_rounding_is_half_up_in_tenths():
    # 1 / 16 × 100 = 6.25 → 6.3 (half up, not banker's 6.2); 3/16 → 18.75 → 18.8
    assert rounded_total([Line(1, 16, 1)]) == Decimal("6.3")
    assert rounded_total([Line(1, 16, 3)]) == Decimal("18.8")
    # 1/3 → 33.333 → 33.3 ; 2/3 → 66.666 → 66.7
    assert rounded_total([Line(1, 3, 1)]) == Decimal("33.3")
    assert rounded_total([Line(1, 3, 2)]) == Decimal("66.7")


def test_a_missing_score_gives_no_total_unless_partial():
    lines = review(4, None, 5, 2, 4, 1)
    assert weighted_total(lines) is None and rounded_total(lines) is None
    # partial: the missing score counts 0: (335 − 60) / 500 × 100 = 55
    assert weighted_total(lines, partial=True) == Decimal(55)
    assert rounded_total(lines, partial=True) == Decimal(55)


def test_spread_is_a_fraction_of_the_scale():
    # totals 67, 40, 52: (67 − 40) / 100 = 0.27
    assert spread([Decimal(67), Decimal(40), Decimal(52)]) == Decimal("0.27")
    assert spread([Decimal(67)]) is None


def test_population_standard_deviation():
    # 40, 60: mean 50, deviations ±10, variance (100 + 100) / 2 = 100, sd 10
    assert population_sd([Decimal(40), Decimal(60)]) == Decimal(10)


def test_call_scores_mean_spread_disagreement_and_calibration():
    # Reviewer 1 (severe) gives 40 and 60; reviewer 2 (lenient) gives 80 and 90; reviewer 3 only one review (70).
    # Dossier A: r1 40, r2 80, r3 70. Dossier B: r1 60, r2 90.
    t = [ReviewTotal(1, 1, 100, Decimal(40)), ReviewTotal(2, 1, 200, Decimal(60)),
         ReviewTotal(3, 2, 100, Decimal(80)), ReviewTotal(4, 2, 200, Decimal(90)),
         ReviewTotal(5, 3, 100, Decimal(70))]
    scores, calibration = call_scores(t, Decimal("0.3"))
    # All reviews: mean (40 + 60 + 80 + 90 + 70) / 5 = 340 / 5 = 68;
    # deviations −28, −8, 12, 22, 2 → squares 784, 64, 144, 484, 4 = 1480; / 5 = 296; sd = √296 = 17.2047…
    assert calibration.mean_all == Decimal(68)
    assert round(calibration.sd_all, 4) == Decimal("17.2047")
    # r1: mean 50, sd 10 → z(40) = −1, z(60) = +1; r2: mean 85, sd 5 → z(80) = −1, z(90) = +1
    # calibrated: 68 ∓ 17.2047 → 50.7953 and 85.2047; r3 uncalibrated: 70 kept
    assert round(calibration.calibrated[1], 4) == Decimal("50.7953")
    assert round(calibration.calibrated[4], 4) == Decimal("85.2047")
    assert calibration.calibrated[5] == Decimal(70)
    assert calibration.uncalibrated_reviewers == {3}

    a, b = scores[100], scores[200]
    # A: mean (40 + 80 + 70) / 3 = 63.333 → 63.3; spread (80 − 40) / 100 = 0.4 > 0.3 → désaccord
    assert a.mean == Decimal("63.3") and a.spread == Decimal("0.400") and a.disagreement
    # A calibrated: (50.7953 + 50.7953 + 70) / 3 = 57.1969 → 57.2 ; has an uncalibrated review
    assert a.calibrated == Decimal("57.2") and a.uncalibrated and a.submitted == 3
    # B: mean (60 + 90) / 2 = 75; spread 0.3, not above 0.3 → no désaccord; calibrated both 85.2047 → 85.2
    assert b.mean == Decimal(75) and b.spread == Decimal("0.300") and not b.disagreement
    assert b.calibrated == Decimal("85.2") and not b.uncalibrated


def test_a_reviewer_whose_totals_are_all_equal_is_not_calibrated():
    # r1 gives 50 twice (sd 0): kept as is; r2 gives 20 and 80 (mean 50, sd 30), z = ∓1;
    # all: 50, 50, 20, 80 → mean 50, squares 0, 0, 900, 900 → variance 450, sd 21.2132…
    t = [ReviewTotal(1, 1, 1, Decimal(50)), ReviewTotal(2, 1, 2, Decimal(50)),
         ReviewTotal(3, 2, 1, Decimal(20)), ReviewTotal(4, 2, 2, Decimal(80))]
    calibration = calibrate(t)
    assert calibration.uncalibrated_reviewers == {1}
    assert calibration.calibrated[1] == Decimal(50)
    assert round(calibration.calibrated[3], 4) == Decimal("28.7868")  # 50 − 21.2132
    assert round(calibration.calibrated[4], 4) == Decimal("71.2132")


def test_calibrated_totals_stay_on_the_scale():
    # r1: 0 and 100 (mean 50, sd 50); r2: 49, 50, 51 (mean 50, sd √(2/3) = 0.8165): z(51) = 1.2247
    # all: 0, 100, 49, 50, 51 → mean 50, squares 2500, 2500, 1, 0, 1 = 5002 / 5 = 1000.4, sd 31.6291…
    # r2's 51 → 50 + 1.2247 × 31.6291 = 88.74; r1's 100 (z = 1) → 81.63: both within 0..100.
    t = [ReviewTotal(1, 1, 1, Decimal(0)), ReviewTotal(2, 1, 2, Decimal(100)),
         ReviewTotal(3, 2, 1, Decimal(49)), ReviewTotal(4, 2, 2, Decimal(50)), ReviewTotal(5, 2, 3, Decimal(51))]
    calibration = calibrate(t)
    assert round(calibration.calibrated[5], 2) == Decimal("88.74")
    assert round(calibration.calibrated[2], 2) == Decimal("81.63")
    # A very severe reviewer rescaled beyond the scale is clamped: r1 1 and 3 (z = ±1) in a call whose
    # reviews are 1, 3, 0, 100 → mean 26, sd √((625 + 529 + 676 + 5476) / 4) = √1826.5 = 42.74
    # 26 − 42.74 < 0 → 0
    t = [ReviewTotal(1, 1, 1, Decimal(1)), ReviewTotal(2, 1, 2, Decimal(3)),
         ReviewTotal(3, 2, 1, Decimal(0)), ReviewTotal(4, 2, 2, Decimal(100))]
    assert calibrate(t).calibrated[1] == Decimal(0)
