"""THE conflict-of-interest rule (``conflicted_pairs``): which reviewer × dossier pairs are in conflict, in at
most three queries whatever their numbers. Kept apart from ``permissions`` (which re-exports it and asks it
for access, dashboards and regional groups) because it is pure reading of the conflicts, without "who asks"."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution
from ptce_aap.models.dossiers import Dossier, Member, PoleMembership
from ptce_aap.models.reviews import ConflictOfInterest


def conflicted_pairs(reviewer_ids, dossiers) -> set[tuple[int, int]]:
    """``(reviewer_id, dossier_id)`` pairs of ``reviewer_ids`` × ``dossiers`` where a conflict of interest
    stands: THE conflict rule, for one pair or a million, in at most three queries whatever the numbers.

    A conflict (a ``ConflictOfInterest`` row of the dossier's call, not cleared by an admin) concerns the
    dossier when it names its pole, the SIREN of its structure porteuse or of one of its members, one of its
    departments, or an institution whose SIREN is the structure porteuse's or a member's (the institution is
    involved in the pole). Owning or co-editing a dossier of the same call is a conflict on every dossier of
    that call (a competitor never reviews). ``dossiers``: anything with ``id``,
    ``call_id``, ``pole_id``, ``carrier_siren`` and ``departments`` (models or rows); members are read from
    the database. Every other reader of the rule (access, dashboards, regional groups, the assignment
    solver) goes through this function."""
    reviewer_ids = {r for r in reviewer_ids if r is not None}
    dossiers = list(dossiers)
    if not reviewer_ids or not dossiers:
        return set()
    conflicts = db.session.execute(
        sa.select(ConflictOfInterest.reviewer_id, ConflictOfInterest.call_id, ConflictOfInterest.pole_id,
                  ConflictOfInterest.siren, ConflictOfInterest.department, Institution.siren)
        .outerjoin(Institution, Institution.id == ConflictOfInterest.institution_id)
        .where(ConflictOfInterest.reviewer_id.in_(reviewer_ids), ConflictOfInterest.cleared_at.is_(None),
               ConflictOfInterest.call_id.in_({d.call_id for d in dossiers}))).all()
    # What a conflict may name, per call: (call id, kind, value) → dossier ids. Empty values name nothing.
    named: dict[tuple, set[int]] = defaultdict(set)
    for d in dossiers:
        named[(d.call_id, "pole", d.pole_id)].add(d.id)
        if d.carrier_siren:
            named[(d.call_id, "siren", d.carrier_siren)].add(d.id)
        for department in d.departments or []:
            if department:
                named[(d.call_id, "department", department)].add(d.id)
    if any(siren or institution_siren for _r, _c, _p, siren, _d, institution_siren in conflicts):
        call_of = {d.id: d.call_id for d in dossiers}
        for dossier_id, siren in db.session.execute(sa.select(Member.dossier_id, Member.siren).where(
                Member.dossier_id.in_(list(call_of)), Member.siren != "")):
            if siren:
                named[(call_of[dossier_id], "siren", siren)].add(dossier_id)
    found: set[tuple[int, int]] = set()
    for reviewer_id, call_id, pole_id, siren, department, institution_siren in conflicts:
        for key in ((call_id, "pole", pole_id), (call_id, "siren", siren), (call_id, "department", department),
                    (call_id, "siren", institution_siren)):
            if key[2] is not None and key[2] != "":
                found.update((reviewer_id, dossier_id) for dossier_id in named.get(key, ()))
    # Owning or co-editing a dossier of the call (the pole's own dossier included): a competitor never
    # reviews, so every dossier of that call is in conflict for them.
    by_call: dict[int, set[int]] = defaultdict(set)
    for d in dossiers:
        by_call[d.call_id].add(d.id)
    for user_id, call_id in db.session.execute(
            sa.select(PoleMembership.user_id, Dossier.call_id).distinct()
            .join(Dossier, Dossier.pole_id == PoleMembership.pole_id)
            .where(PoleMembership.user_id.in_(reviewer_ids), Dossier.call_id.in_(set(by_call)))):
        found.update((user_id, dossier_id) for dossier_id in by_call[call_id])
    return found
