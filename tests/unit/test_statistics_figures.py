"""The pure statistics of the ministry's report (issue 12, point 2) on a small hand-built set: exact counts,
medians of odd and even counts, shares rounded alike, laureates counted by their current decision only,
withdrawn dossiers and drafts left out, the CSV rows, the bar chart's geometry."""

from decimal import Decimal

from ptce_aap.domain import charts
from ptce_aap.domain import statistics as stats
from ptce_aap.enums import DecisionOutcome, DossierStatus

S, OUT = DossierStatus, DecisionOutcome
D = Decimal


def facts(id_, call_id=1, status=S.REVIEWED, **values):
    return stats.DossierFacts(id=id_, call_id=call_id, status=status, **values)


DOSSIERS = [
    facts(1, region_code="84", departments=("69", "01"), domains=("alimentation", "numerique"), category_code="dev",
          cooperation_forms=("mutualisation_moyens", "cooperation_strategique"), governance_form="structure_dediee",
          jobs_existing=D("4.5"), jobs_to_create=D("6"), members=(("ess", 3), ("enterprise", 1), ("collectivity", 1))),
    facts(2, region_code="84", departments=("69",), domains=("alimentation",), category_code="emergence",
          cooperation_forms=("mutualisation_moyens",), governance_form="ad_hoc",
          jobs_existing=D("2"), jobs_to_create=None, members=(("ess", 2), ("research", 1))),
    facts(3, region_code="53", departments=("35",), domains=(), governance_form="",
          jobs_existing=D("10"), jobs_to_create=D("3"), members=(("ess", 1), ("enterprise", 2), ("training", 1))),
    facts(4, status=S.SUBMITTED, region_code="", departments=(), domains=("numerique",), category_code="dev",
          cooperation_forms=(), jobs_existing=None, jobs_to_create=D("1"), members=(("ess", 4), ("", 1))),
    # Left out: a withdrawn dossier (even with a current laureate decision) and a draft.
    facts(5, status=S.WITHDRAWN, region_code="84", departments=("69",), domains=("alimentation",),
          jobs_existing=D("100"), members=(("ess", 20),)),
    facts(6, status=S.DRAFT, region_code="84", departments=("69",), members=(("ess", 20),)),
    # Another call.
    facts(7, call_id=2, region_code="53", departments=("35", "22"), domains=("culture",),
          cooperation_forms=("cooperation_strategique",), governance_form="informelle",
          jobs_existing=D("1"), jobs_to_create=D("2"), members=(("ess", 2), ("enterprise", 1), ("other", 1))),
]
DECISIONS = [
    # Dossier 1: laureate at 50 000, corrected to 60 000 — only the current row counts, once.
    stats.DecisionFacts(1, OUT.LAUREATE, D("50000.00"), is_current=False),
    stats.DecisionFacts(1, OUT.LAUREATE, D("60000.00"), is_current=True),
    # Dossier 2: laureate, then corrected to rejected: not a laureate.
    stats.DecisionFacts(2, OUT.LAUREATE, D("40000.00"), is_current=False),
    stats.DecisionFacts(2, OUT.REJECTED, None, is_current=True),
    stats.DecisionFacts(3, OUT.WAITLISTED, None, is_current=True),
    stats.DecisionFacts(5, OUT.LAUREATE, D("99000.00"), is_current=True),  # withdrawn: left out
    stats.DecisionFacts(7, OUT.LAUREATE, D("30000.50"), is_current=True),
]


def report(call_ids=(1, 2), dossiers=DOSSIERS, decisions=DECISIONS):
    return stats.statistics(list(call_ids), [d for d in dossiers if d.call_id in call_ids], decisions,
                            domains=["alimentation", "numerique", "culture"], categories=["emergence", "dev"])


def test_laureates_are_the_current_laureate_decisions_only():
    assert stats.laureate_amounts(DECISIONS) == {1: D("60000.00"), 5: D("99000.00"), 7: D("30000.50")}


def test_summary_figures_per_call_and_in_all():
    r = report()
    one, two, total = r.per_call[1], r.per_call[2], r.total
    assert (one.dossiers, one.withdrawn, one.laureates, one.granted) == (4, 1, 1, D("60000.00"))
    assert (two.dossiers, two.withdrawn, two.laureates, two.granted) == (1, 0, 1, D("30000.50"))
    assert (total.dossiers, total.withdrawn, total.laureates, total.granted) == (5, 1, 2, D("90000.50"))


def tallies(rows, call_id=None):
    return {row.key: ((row.total if call_id is None else row.of(call_id)).dossiers,
                      (row.total if call_id is None else row.of(call_id)).laureates,
                      (row.total if call_id is None else row.of(call_id)).amount) for row in rows}


def test_breakdowns_by_region_department_domain_and_category():
    r = report()
    assert tallies(r.regions) == {"84": (2, 1, D("60000.00")), "53": (2, 1, D("30000.50")), "": (1, 0, D(0))}
    # Regions in French alphabetical order (Auvergne-Rhône-Alpes, Bretagne), « non renseignée » last.
    assert [row.key for row in r.regions] == ["84", "53", ""]
    assert tallies(r.regions, 1)["53"] == (1, 0, D(0)) and tallies(r.regions, 2)["53"] == (1, 1, D("30000.50"))
    assert tallies(r.departments) == {"01": (1, 1, D("60000.00")), "22": (1, 1, D("30000.50")),
                                      "35": (2, 1, D("30000.50")), "69": (2, 1, D("60000.00")), "": (1, 0, D(0))}
    assert [row.key for row in r.departments] == ["01", "22", "35", "69", ""]
    assert tallies(r.domains) == {"alimentation": (2, 1, D("60000.00")), "numerique": (2, 1, D("60000.00")),
                                  "culture": (1, 1, D("30000.50")), "": (1, 0, D(0))}
    assert tallies(r.categories) == {"emergence": (1, 0, D(0)), "dev": (2, 1, D("60000.00")), "": (2, 1, D("30000.50"))}
    assert [row.key for row in r.categories] == ["emergence", "dev", ""]
    assert r.department_dossiers == {"01": 1, "22": 1, "35": 2, "69": 2}
    assert r.department_laureates == {"01": 1, "22": 1, "35": 1, "69": 1}


def test_cooperation_and_governance_forms_practised():
    r = report()
    assert tallies(r.cooperation) == {"mutualisation_moyens": (2, 1, D("60000.00")),
                                      "mutualisation_projets": (0, 0, D(0)),
                                      "cooperation_strategique": (2, 2, D("90000.50")), "": (2, 0, D(0))}
    assert tallies(r.governance) == {"structure_dediee": (1, 1, D("60000.00")), "ad_hoc": (1, 0, D(0)),
                                     "informelle": (1, 1, D("30000.50")), "": (2, 0, D(0))}


def test_members_per_pole_mean_median_min_max():
    r = report()
    # Call 1: 5, 3, 4, 5 members (the withdrawn 20 left out): sorted 3 4 5 5, median (4 + 5) / 2.
    assert r.per_call[1].members == stats.Summary(4, D(17), D("4.25"), D("4.5"), D(3), D(5))
    # In all: 3 4 4 5 5 (odd count): median 4.
    assert r.total.members == stats.Summary(5, D(21), D("4.20"), D(4), D(3), D(5))
    assert stats.median([D(1)]) == D(1) and stats.median([]) is None
    assert stats.median([7, 1, 3, 100]) == D(5)
    assert stats.median([10, 1, 2]) == D(2) and stats.median([D("2.5"), 9]) == D("5.75")


def test_members_by_category_with_shares_adding_up():
    shares = report().total.member_shares
    assert [(s.key, s.count) for s in shares] == [("ess", 12), ("enterprise", 4), ("collectivity", 1),
                                                  ("research", 1), ("training", 1), ("other", 1), ("", 1)]
    # 21 members: 12/21 = 57.14 %, 4/21 = 19.05 %, 1/21 = 4.76 % (×5): each rounded to 0.1 % on its own.
    assert [s.share for s in shares] == [D("0.571"), D("0.190"), D("0.048"), D("0.048"), D("0.048"), D("0.048"),
                                         D("0.048")]
    assert shares[0].percent == D("57.1")
    # Equal counts, equal shares (a largest-remainder rounding gave 33.4 / 33.3 / 33.3); half up.
    thirds = stats.shares({"a": 1, "b": 1, "c": 1}, ["a", "b", "c"])
    assert [s.share for s in thirds] == [D("0.333")] * 3
    assert [s.share for s in stats.shares({"a": 1, "b": 1999}, ["a", "b"])] == [D("0.001"), D("1.000")]


def test_jobs_for_all_dossiers_and_for_laureates():
    jobs = report().total.jobs
    # Existing: 4.5, 2, 10, (4 not given), 1.
    assert jobs.existing == stats.Summary(4, D("17.5"), D("4.38"), D("3.25"), D(1), D(10))
    # To create: 6, (2 not given), 3, 1, 2.
    assert jobs.to_create == stats.Summary(4, D(12), D("3.00"), D("2.5"), D(1), D(6))
    assert jobs.existing_laureates == stats.Summary(2, D("5.5"), D("2.75"), D("2.75"), D(1), D("4.5"))
    assert jobs.to_create_laureates == stats.Summary(2, D(8), D("4.00"), D(4), D(2), D(6))


def test_no_dossier_no_decision_no_division_by_zero():
    empty = stats.statistics([1], [], [], domains=["alimentation"], categories=[])
    assert empty.is_empty and empty.total.members == stats.Summary(0, D(0), None, None, None, None)
    assert [s.share for s in empty.total.member_shares] == [D(0)] * 6
    assert not empty.total.has_decisions and empty.regions == []
    undecided = report(decisions=[])
    assert undecided.total.laureates == 0 and undecided.total.granted == D(0)
    assert undecided.total.jobs.existing_laureates.mean is None


def test_csv_rows_name_every_table():
    r = report()
    rows = list(stats.export_rows(r, {1: ("aap-2013", "AAP 2013"), 2: ("aap-2015", "AAP 2015")},
                                  lambda table, key: f"{table}:{key}", all_calls="Ensemble"))
    assert ("synthese", "aap-2013", "AAP 2013", "laureats", "", "nombre", 1) in rows
    assert ("synthese", "ensemble", "Ensemble", "montant_accorde", "", "euros", D("90000.50")) in rows
    assert ("regions", "aap-2015", "AAP 2015", "53", "regions:53", "montant_accorde", D("30000.50")) in rows
    assert ("membres_par_pole", "ensemble", "Ensemble", "", "", "mediane", D(4)) in rows
    assert ("membres_par_categorie", "ensemble", "Ensemble", "ess", "membres:ess", "part_pct", D("57.1")) in rows
    assert ("emplois", "aap-2013", "AAP 2013", "a_creer_laureats", "emplois:a_creer_laureats", "somme_etp",
            D(6)) in rows
    assert {row[0] for row in rows} == {"synthese", *stats.BREAKDOWNS, "membres_par_pole", "membres_par_categorie",
                                        "emplois"}
    one = list(stats.export_rows(report(call_ids=(1,)), {1: ("aap-2013", "AAP 2013")}, lambda t, k: k,
                                 all_calls="Ensemble"))
    assert {row[1] for row in one} == {"aap-2013"}  # one call: no « ensemble » repeating it


def test_horizontal_bar_chart_geometry():
    chart = charts.hbar_chart([("a", [2, 1]), ("b", [7, 0])])
    (a1, a2), (b1, b2) = (g.bars for g in chart.groups)
    assert [v for _x, v in chart.ticks] == [0, 2, 4, 6, 8]
    assert b2.width == 0 and a1.width == 2 * a2.width and abs(b1.width / a1.width - 3.5) < 0.01
    assert a1.y < a2.y < chart.groups[1].label_y < b1.y < b2.y < chart.axis_y < chart.height
    assert chart.series == 2 and chart.ticks[-1][0] == chart.right
    assert charts.hbar_chart([]).groups == []
