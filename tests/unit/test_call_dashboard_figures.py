"""The pure figures of the call dashboard: days, bar geometry, shading classes, territories, eligibility."""

from datetime import date

from ptce_aap.domain import call_dashboard as figures
from ptce_aap.domain import france_map
from ptce_aap.enums import AssignmentStatus, DossierStatus

S = DossierStatus


def test_every_day_between_the_first_and_the_last_submission():
    days = [date(2027, 3, 3), None, date(2027, 3, 1), date(2027, 3, 3)]
    assert figures.submissions_per_day(days) == [(date(2027, 3, 1), 1), (date(2027, 3, 2), 0), (date(2027, 3, 3), 2)]
    assert figures.submissions_per_day([None]) == []


def test_bar_heights_follow_the_values_on_round_graduations():
    chart = figures.bar_chart([(date(2027, 3, 1), 2), (date(2027, 3, 2), 0), (date(2027, 3, 3), 7)])
    low, empty, high = chart.bars
    assert [v for _y, v in chart.ticks] == [0, 2, 4, 6, 8]
    assert empty.height == 0 and not empty.show_value
    assert high.height > low.height > 0 and abs(high.height / low.height - 3.5) < 0.01
    assert high.y + high.height == chart.baseline
    many = figures.bar_chart([(date(2027, 1, 1), 1)] * 60)
    assert sum(bar.labelled for bar in many.bars) <= figures.MAX_DAY_LABELS
    assert not any(bar.show_value for bar in many.bars)  # too narrow: the table says it


def test_shading_classes():
    assert france_map.count_classes(0) == [france_map.CountClass(0, 0, 0, 0)]
    two = france_map.count_classes(2)
    assert [(c.low, c.high, c.shade) for c in two] == [(0, 0, 0), (1, 1, 2), (2, 2, 4)]
    nine = france_map.count_classes(9)
    assert [(c.low, c.high, c.shade) for c in nine] == [(0, 0, 0), (1, 3, 2), (4, 6, 3), (7, 9, 4)]
    assert france_map.level_of(5, nine) == 3 and france_map.level_of(0, nine) == 0
    ten = france_map.count_classes(10)
    assert [(c.low, c.high, c.shade) for c in ten] == [(0, 0, 0), (1, 3, 1), (4, 6, 2), (7, 9, 3), (10, 10, 4)]


def test_the_map_has_every_department():
    shown = france_map.france_map({"69": 3, "974": 1})
    assert len(shown.mainland) == 96 and [s.code for s in shown.overseas] == ["971", "972", "973", "974", "976"]
    rhone = next(s for s in shown.mainland if s.code == "69")
    assert rhone.count == 3 and rhone.level == 4 and rhone.name == "Rhône" and rhone.path.startswith("m ")
    assert 0 < rhone.label_x < shown.width and 0 < rhone.label_y < shown.height
    assert next(s for s in shown.overseas if s.code == "974").level == 2  # 1 of 3: the lightest of 3 shades
    assert "CC BY 4.0" in shown.source


def test_territories_count_a_dossier_once_per_region_and_per_department():
    facts = [figures.DossierFacts(S.ELIGIBLE, region_code="84", departments=("69", "01", "69")),
             figures.DossierFacts(S.SUBMITTED, region_code="84", departments=("69",)),
             figures.DossierFacts(S.WITHDRAWN, region_code="84", departments=("69",)),
             figures.DossierFacts(S.SUBMITTED, region_code="", departments=())]
    rows = figures.territories(facts)
    assert [(r.name, r.dossiers) for r in rows] == [("Auvergne-Rhône-Alpes", 2), ("", 1)]
    assert [(d.code, n) for d, n in rows[0].departments] == [("01", 1), ("69", 2)]


def test_eligibility_and_statuses():
    facts = [figures.DossierFacts(S.ELIGIBLE, verdict=True, failed=(("enterprise_partner", False),)),
             figures.DossierFacts(S.INELIGIBLE, verdict=False, overridden=True,
                                  failed=(("min_members", True), ("siret", True))),
             figures.DossierFacts(S.SUBMITTED),
             figures.DossierFacts(S.WITHDRAWN, verdict=False, failed=(("siret", True),))]
    result = figures.eligibility(facts, ["siret", "min_members", "enterprise_partner"])
    assert (result.eligible, result.ineligible, result.pending, result.overridden) == (1, 1, 1, 1)
    assert [(r.code, r.blocking, r.advisory) for r in result.rules] == [
        ("siret", 1, 0), ("min_members", 1, 0), ("enterprise_partner", 0, 1)]
    statuses = figures.status_counts(facts)
    assert statuses.total == 3 and statuses.withdrawn == 1
    assert dict(statuses.rows)[S.SUBMITTED] == 1 and S.WITHDRAWN not in dict(statuses.rows)


def test_reviewer_progress():
    A = AssignmentStatus
    progress = figures.reviewer_progress([(1, A.SUBMITTED, 2), (1, A.IN_PROGRESS, 1), (1, A.DECLINED, 1),
                                          (1, A.DECLINED_CONFLICT, 1), (2, A.DECLINED, 1)])
    one = progress[1]
    assert (one.assigned, one.submitted, one.in_progress, one.not_started, one.declined) == (3, 2, 1, 0, 2)
    assert one.percent == 66
    assert progress[2].assigned == 0 and progress[2].percent == 0
