"""The ranking of a call (SPEC §5, issue 11 point 5), read in a constant number of queries: every dossier still
in the competition (eligible, in review, reviewed or decided; never withdrawn nor ineligible) with its scores
(``domain.scores``, computed once for the whole call from the totals the database sums), its reviewers'
recommendations counted, its regional rank (given avis only), its current decision, and its rank in the call.

The order is the simulator's (``domain.selection.rank_key``): scored first, higher score first, equal scores
by the smaller amount, then by id. Reading only: nothing here writes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import load_only

from ptce_aap.domain import scores
from ptce_aap.domain.selection import Candidate, rank_key
from ptce_aap.enums import DossierStatus, Recommendation
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call, CallCategory
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.reviews import Assignment, RegionalOpinion, Review
from ptce_aap.services import decisions as decision_service
from ptce_aap.services import regional as regional_service
from ptce_aap.services import reviews as review_service

RANKED = (DossierStatus.ELIGIBLE, DossierStatus.IN_REVIEW, DossierStatus.REVIEWED, DossierStatus.LAUREATE,
          DossierStatus.WAITLISTED, DossierStatus.REJECTED)
RAW, CALIBRATED = "raw", "calibrated"
SCORE_KINDS = (RAW, CALIBRATED)
EMPTY = scores.DossierScore(None, None, None, False, 0, False)
# What the ranking reads of a dossier: not its JSON columns (decoding them was most of the time at 1,000 rows).
COLUMNS = (Dossier.id, Dossier.call_id, Dossier.pole_id, Dossier.status, Dossier.pole_name, Dossier.region_code,
           Dossier.category_code, Dossier.amount_requested_eur)


@dataclass(frozen=True)
class CallScores:
    """What ``domain.scores`` makes of the submitted reviews of a call: the totals, each dossier's score and
    the calibration (shared by the scores page, the ranking and the simulator)."""

    totals: tuple[scores.ReviewTotal, ...]
    by_dossier: Mapping[int, scores.DossierScore]  # read-only: shared by the requests of this process
    calibration: scores.Calibration


# call id → (fingerprint, its scores): the last computed scores of the calls read lately, in this process.
_computed: OrderedDict[int, tuple[str, CallScores]] = OrderedDict()
_computed_lock = threading.Lock()
CACHED_CALLS = 8


def call_scores(call: Call) -> CallScores:
    """The scores of every dossier of the call (the same for every page that shows them).

    Computing them takes every submitted review of the call (the calibration needs each reviewer's whole call):
    ~0.1 s of Decimal maths at 5,000 dossiers. So the result is kept in this process, with the fingerprint of
    its inputs (``reviews.totals_fingerprint``: the counted reviews, their versions, the criteria; and the call's
    disagreement threshold), and served again only while a fresh reading of that fingerprint — one query, on
    every call of this function, in every process — is the same. Any change of the inputs, by any process or
    server, is seen by the next request; nothing has to remember to invalidate anything.

    The fingerprint is read *before* the totals: a review committed in between makes the entry's fingerprint
    older than its scores (recomputed once more), never the other way round (a stale score kept as current).

    One query when kept; three when computed (the totals are summed by the database)."""
    return _keyed_scores(call)[1]


def _keyed_scores(call: Call) -> tuple[str, CallScores]:
    """``call_scores`` with the fingerprint it was served under (the ranking's kept order includes it)."""
    key = f"{review_service.totals_fingerprint(call.id)}:{call.disagreement_threshold}"
    with _computed_lock:
        kept = _computed.get(call.id)
        if kept is not None and kept[0] == key:
            _computed.move_to_end(call.id)
            return kept
    totals = review_service.submitted_totals(call.id)
    by_dossier, calibration = scores.call_scores(totals, call.disagreement_threshold)
    computed = CallScores(tuple(totals), MappingProxyType(by_dossier), calibration)
    with _computed_lock:
        _computed[call.id] = (key, computed)
        _computed.move_to_end(call.id)
        while len(_computed) > CACHED_CALLS:
            _computed.popitem(last=False)
    return key, computed


def forget_kept_scores() -> None:
    """Empty this process's kept scores. Not needed by the app (a fingerprint names its inputs: ids from
    sequences, versions, times); the tests call it after emptying the tables, which restarts the ids."""
    with _computed_lock:
        _computed.clear()
        _ranked.clear()


@dataclass
class RankRow:
    dossier: Dossier
    score: scores.DossierScore = EMPTY
    tallies: dict[Recommendation, int] = field(default_factory=dict)
    opinion: RegionalOpinion | None = None  # the given regional avis (None: none given)
    decision: Decision | None = None
    cap: Decimal = Decimal(0)  # the most it may be granted (request, call's and category's caps)
    rank: int = 0  # 1 = first of the call, for the score kind of the ranking

    def value(self, kind: str) -> Decimal | None:
        return self.score.calibrated if kind == CALIBRATED else self.score.mean

    @property
    def regional_rank(self) -> int | None:
        return self.opinion.rank if self.opinion is not None else None

    def candidate(self, kind: str) -> Candidate:
        d = self.dossier
        return Candidate(id=d.id, score=self.value(kind), amount=self.cap, region=d.region_code or "",
                         category=d.category_code or "", label=d.pole_name or "")


def _tallies(call: Call, ids: list[int] | None = None) -> dict[int, dict[Recommendation, int]]:
    """dossier id → recommendation → number of submitted reviews recommending it (one query; of the dossiers
    ``ids`` only when given)."""
    query = (sa.select(Assignment.dossier_id, Review.recommendation, sa.func.count())
             .join(Review, Review.assignment_id == Assignment.id)
             .join(Dossier, Dossier.id == Assignment.dossier_id)
             .where(Dossier.call_id == call.id, Review.submitted_at.is_not(None), Review.recommendation.is_not(None))
             .group_by(Assignment.dossier_id, Review.recommendation))
    if ids is not None:
        query = query.where(Assignment.dossier_id.in_(ids))
    rows = db.session.execute(query).all()
    out: dict[int, dict[Recommendation, int]] = defaultdict(dict)
    for dossier_id, recommendation, count in rows:
        out[dossier_id][Recommendation(recommendation)] = count
    return out


def categories(call: Call) -> dict[str, CallCategory]:
    return {c.code: c for c in db.session.scalars(
        sa.select(CallCategory).where(CallCategory.call_id == call.id).order_by(CallCategory.position,
                                                                                CallCategory.id))}


# (call id, score kind) → (key, the ranked light rows): the last ranked order of the calls read lately, in this process.
_ranked: OrderedDict[tuple[int, str], tuple[str, tuple[RankRow, ...]]] = OrderedDict()


def ranked_dossiers_fingerprint(call_id: int, *, in_database: bool | None = None) -> str:
    """A digest of the ranked dossiers' ``COLUMNS`` (which dossiers are ranked — their status —, their amounts,
    categories, regions and names), in one query: the PostgreSQL ``md5`` of their JSON rows ordered by id (one
    short row back); elsewhere (SQLite) the rows are read and hashed here. ``in_database`` forces one way."""
    if in_database is None:
        in_database = db.session.get_bind().dialect.name == "postgresql"
    ranked = (Dossier.call_id == call_id, Dossier.status.in_(RANKED))
    if in_database:
        line = sa.cast(sa.func.json_build_array(*COLUMNS), sa.Text)
        ordered = sa.func.string_agg(line, aggregate_order_by(sa.literal_column("','"), Dossier.id))
        return "pg:" + db.session.scalar(sa.select(sa.func.md5(sa.func.coalesce(ordered, ""))).where(*ranked))
    rows = db.session.execute(sa.select(*COLUMNS).where(*ranked).order_by(Dossier.id)).all()
    return "py:" + hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


def ranking(call: Call, kind: str = CALIBRATED, *, computed: CallScores | None = None,
            cats: dict[str, CallCategory] | None = None, light: bool = False) -> list[RankRow]:
    """Every ranked dossier of the call, in rank order for ``kind`` (seven queries whatever the number; six with
    the call's categories given).

    ``light``: each row's ``dossier`` is a plain row of ``COLUMNS`` (no ORM object), and its tallies, regional
    avis and decision are left empty — ``add_details`` makes rows with them for the rows shown (three queries
    fewer). The ranked rows are then kept in this process, like the scores, under a key of everything the order
    and the rows depend on: the scores' fingerprint (``call_scores``), the ranked dossiers' columns
    (``ranked_dossiers_fingerprint``: statuses, amounts, categories), the call's cap and its categories' caps —
    all read afresh on every call (two queries, plus the categories unless given), so any change by any process
    is seen by the next request. The kept rows are shared: the list is the caller's, its rows must not be
    changed (``add_details`` makes new ones). The rank needs only the scores and the amounts."""
    kind = kind if kind in SCORE_KINDS else CALIBRATED
    cats = categories(call) if cats is None else cats
    ranked = [Dossier.call_id == call.id, Dossier.status.in_(RANKED)]
    if light and computed is None:
        scores_key, computed = _keyed_scores(call)
        caps = sorted((code, str(c.max_amount_eur)) for code, c in cats.items())
        key = f"{scores_key}|{ranked_dossiers_fingerprint(call.id)}|{call.max_amount_eur}|{caps!r}"
        with _computed_lock:
            kept = _ranked.get((call.id, kind))
            if kept is not None and kept[0] == key:
                _ranked.move_to_end((call.id, kind))
                return list(kept[1])
        rows = _rank([RankRow(d, computed.by_dossier.get(d.id, EMPTY),
                              cap=decision_service.amount_cap(d, cats, call=call))
                      for d in db.session.execute(sa.select(*COLUMNS).where(*ranked)).all()], kind)
        with _computed_lock:
            _ranked[(call.id, kind)] = (key, tuple(rows))
            _ranked.move_to_end((call.id, kind))
            while len(_ranked) > CACHED_CALLS * len(SCORE_KINDS):
                _ranked.popitem(last=False)
        return rows
    computed = computed or call_scores(call)
    if light:
        dossiers = db.session.execute(sa.select(*COLUMNS).where(*ranked)).all()
    else:
        dossiers = db.session.scalars(sa.select(Dossier).options(load_only(*COLUMNS)).where(*ranked)).all()
    rows = [RankRow(d, computed.by_dossier.get(d.id, EMPTY), cap=decision_service.amount_cap(d, cats, call=call))
            for d in dossiers]
    if not light:
        rows = add_details(call, rows, whole_call=True)
    return _rank(rows, kind)


def _rank(rows: list[RankRow], kind: str) -> list[RankRow]:
    rows.sort(key=lambda r: rank_key(r.candidate(kind), r.cap))
    for i, row in enumerate(rows, start=1):
        row.rank = i
    return rows


def add_details(call: Call, rows: list[RankRow], *, whole_call: bool = False) -> list[RankRow]:
    """New rows: ``rows`` with their tallies, given regional avis and current decision (three queries: of these
    dossiers only, or of the whole call with ``whole_call``). ``rows`` are left as they are (they may be kept)."""
    ids = None if whole_call else sorted(r.dossier.id for r in rows)
    tallies = _tallies(call, ids)
    opinions = regional_service.opinions_by_dossier(call, ids=ids)
    decided = decision_service.current_decisions(call, ids=ids)
    out = []
    for row in rows:
        opinion = opinions.get(row.dossier.id)
        out.append(replace(row, tallies=tallies.get(row.dossier.id, {}),
                           opinion=opinion if regional_service.is_given(opinion) else None,
                           decision=decided.get(row.dossier.id)))
    return out


def tally_counts(rows: list[RankRow]) -> Counter:
    """Recommendations over the rows given (for a summary line)."""
    total: Counter = Counter()
    for row in rows:
        total.update(row.tallies)
    return total
