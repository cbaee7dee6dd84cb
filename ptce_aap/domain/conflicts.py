"""Conflict-of-interest detection, pure: which reviewer of a call's pool has a stake in which dossier.

The platform detects three things (SPEC §9): the reviewer's institution SIREN is the structure porteuse's,
or a member's (a collectivité that is a member is the same SIREN match, said as such), and the reviewer
co-edits the dossier. Each finding is one target of a ``ConflictOfInterest`` row: a SIREN (every dossier
carrying it is concerned) or a pole (co-editing). ``services.conflicts.detect_conflicts`` turns the
findings into rows; the reasons are stored in French as they are written here (``REASONS``), and shown to
admins and to the reviewer concerned alike (they name the poles of the call, nothing else of their dossiers),
in the reader's language: ``reason_message`` reads a stored reason back into its messages.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from stdnum.exceptions import ValidationError
from stdnum.fr import siren as siren_mod

from ptce_aap.domain.messages import N_, Message, join
from ptce_aap.domain.text import french_sort_key
from ptce_aap.enums import InstitutionKind, MemberCategory

# Why a conflict was detected, in the order a reason joins them (one sentence each).
CARRIER = N_("Le SIREN de l'institution (%(siren)s) est celui de la structure porteuse du pôle %(poles)s.")
COLLECTIVITY = N_("L'institution est une collectivité membre du pôle %(poles)s (SIREN %(siren)s).")
MEMBER = N_("Le SIREN de l'institution (%(siren)s) est celui d'une structure membre du pôle %(poles)s.")
COEDITOR = N_("La personne co-édite le dossier du pôle « %(pole)s ».")
REASONS = (CARRIER, COLLECTIVITY, MEMBER, COEDITOR)


@dataclass(frozen=True)
class PoolFacts:
    reviewer_id: int
    institution_siren: str | None
    institution_kind: InstitutionKind | None


@dataclass(frozen=True)
class DossierFacts:
    pole_id: int
    pole_name: str
    carrier_siren: str


@dataclass(frozen=True)
class MemberFacts:
    pole_id: int
    siren: str
    category: MemberCategory | None


# A finding's key: (reviewer id, target column, value) with the column "siren" or "pole_id".
Key = tuple[int, str, object]


def valid_siren(raw: str | None) -> str | None:
    """The 9 digits of a valid SIREN (spaces and dots allowed when typed), else None."""
    try:
        return siren_mod.validate(raw or "")
    except ValidationError:
        return None


def _names(names: list[str]) -> str:
    return ", ".join(f"« {n} »" for n in sorted(set(names), key=french_sort_key))


def detect(pool: list[PoolFacts], dossiers: list[DossierFacts], members: list[MemberFacts],
           coeditors: list[tuple[int, int]]) -> dict[Key, Message]:
    """Every conflict the platform sees, with its reason.

    ``coeditors``: (user id, pole id) of the pool's people who co-edit a pole with a dossier in the call.
    """
    name_of = {d.pole_id: d.pole_name or "—" for d in dossiers}
    carriers: dict[str, list[str]] = defaultdict(list)
    for d in dossiers:
        if d.carrier_siren:
            carriers[d.carrier_siren].append(name_of[d.pole_id])
    member_of: dict[str, list[str]] = defaultdict(list)
    collectivity_of: dict[str, list[str]] = defaultdict(list)
    for m in members:
        if m.siren and m.pole_id in name_of:
            (collectivity_of if m.category == MemberCategory.COLLECTIVITY else member_of)[m.siren].append(
                name_of[m.pole_id])

    found: dict[Key, Message] = {}
    for person in pool:
        siren = person.institution_siren
        if not siren:
            continue
        reasons = []
        if carriers.get(siren):
            reasons.append(N_(CARRIER.msgid, siren=siren, poles=_names(carriers[siren])))
        if collectivity_of.get(siren) or (person.institution_kind == InstitutionKind.REGION and member_of.get(siren)):
            poles = collectivity_of.get(siren, []) + (member_of.get(siren, [])
                                                       if person.institution_kind == InstitutionKind.REGION else [])
            reasons.append(N_(COLLECTIVITY.msgid, poles=_names(poles), siren=siren))
        elif member_of.get(siren):
            reasons.append(N_(MEMBER.msgid, siren=siren, poles=_names(member_of[siren])))
        if reasons:
            found[(person.reviewer_id, "siren", siren)] = join(reasons)
    in_pool = {p.reviewer_id for p in pool}
    for user_id, pole_id in coeditors:
        if user_id in in_pool and pole_id in name_of:
            found[(user_id, "pole_id", pole_id)] = N_(COEDITOR.msgid, pole=name_of[pole_id])
    return found


@cache
def _reason_patterns() -> list[tuple[re.Pattern, tuple[Message, ...]]]:
    """One regular expression per sequence of reasons a detection can write (in ``REASONS`` order)."""
    def pattern(message: Message, i: int) -> str:
        return re.sub(r"%\\\((\w+)\\\)s", lambda m: f"(?P<{m.group(1)}{i}>.+?)", re.escape(message.msgid))

    sequences = [(CARRIER, COLLECTIVITY), (CARRIER, MEMBER)] + [(r,) for r in REASONS]  # the longest first
    return [(re.compile(" ".join(pattern(m, i) for i, m in enumerate(seq)) + "$"), seq) for seq in sequences]


def reason_message(reason: str) -> str:
    """A detected conflict's stored reason as the messages it was written from (translatable), else as it is
    (a reason a person typed)."""
    for regex, sequence in _reason_patterns():
        match = regex.match(reason or "")
        if match:
            parts = []
            for i, message in enumerate(sequence):
                names = re.findall(r"%\((\w+)\)s", message.msgid)
                parts.append(N_(message.msgid, **{name: match.group(f"{name}{i}") for name in names}))
            found = join(parts) if len(parts) > 1 else parts[0]
            if str(found) == reason:
                return found
    return reason
