"""Publication of a call's results (SPEC §5): the one write path of ``Publication``.

``publish`` takes a snapshot of the current laureate decisions (laureates only: nothing of another dossier
goes into it), writes the SCDL *subventions* v2.1.1 files (``domain.scdl``: CSV and JSON) to the storage with
their SHA-256, and adds a new ``Publication`` version (the previous one gets ``superseded_at`` and stays
served). The first publication moves the call to PUBLISHED through ``calls.set_call_status`` (its guard
refuses while a current decision is not notified) and mails every person of the decided poles (« publication »
template); a later one is a correction (version N+1) and is refused when it would publish the same rows.
Audited ``call.published`` / ``publication.corrected``. The caller commits.
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ptce_aap import audit
from ptce_aap import storage as file_storage
from ptce_aap.domain import scdl
from ptce_aap.domain.messages import N_
from ptce_aap.domain.text import french_sort_key, one_line
from ptce_aap.enums import CallStatus, DecisionOutcome
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Dossier, PoleMembership
from ptce_aap.models.publications import Publication
from ptce_aap.services.calls import set_call_status
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url

FILES = {"csv": ("laureats.csv", "text/csv"), "json": ("laureats.json", "application/json")}
PUBLISHABLE = {CallStatus.DELIBERATION, CallStatus.PUBLISHED}


def file_key(call: Call, version: int, kind: str) -> str:
    return f"publications/{call.id}/v{version}/{FILES[kind][0]}"


def current(call: Call) -> Publication | None:
    return db.session.scalar(sa.select(Publication).where(Publication.call_id == call.id,
                                                          Publication.superseded_at.is_(None)))


def versions(call: Call) -> list[Publication]:
    return db.session.scalars(sa.select(Publication).where(Publication.call_id == call.id)
                              .order_by(Publication.version.desc())).all()


def version(call: Call, number: int) -> Publication | None:
    return db.session.scalar(sa.select(Publication).where(Publication.call_id == call.id,
                                                          Publication.version == number))


def file_of(publication: Publication, kind: str) -> dict | None:
    return next((f for f in publication.files if f["kind"] == kind), None)


def _laureate_decisions(call: Call) -> list[Decision]:
    """The laureates in French alphabetical order of their pole (« Eco-domaine » between « ECLIS » and « EPV »,
    not after every capital: the database's order depends on its collation)."""
    rows = db.session.scalars(
        sa.select(Decision).join(Dossier, Dossier.id == Decision.dossier_id)
        .where(Dossier.call_id == call.id, Decision.is_current, Decision.outcome == DecisionOutcome.LAUREATE)
        .options(joinedload(Decision.dossier))).all()
    return sorted(rows, key=lambda d: (french_sort_key(d.dossier.pole_name), d.dossier.id))


def _laureate(decision: Decision) -> scdl.Laureate:
    dossier = decision.dossier
    decision_date = decision.committee_date or (decision.notified_at.date() if decision.notified_at else None)
    return scdl.Laureate(
        dossier_id=dossier.id, decision_id=decision.id, pole_name=dossier.pole_name,
        carrier_legal_name=dossier.carrier_legal_name, carrier_siret=dossier.carrier_siret,
        carrier_rna=dossier.carrier_rna or "", departments=tuple(dossier.departments or ()),
        summary=dossier.summary, strategy=dossier.strategy, total_budget_eur=dossier.total_budget_eur,
        amount_eur=decision.amount_eur, reference=decision.reference, agreement_date=decision.agreement_date,
        decision_date=decision_date, payment_terms=decision.payment_terms.scdl if decision.payment_terms else "",
        payment_period=(decision.payment_period_start, decision.payment_period_end),
        tranche_dates=tuple(datetime.strptime(t["date"], "%Y-%m-%d").date()
                            for t in decision.payment_schedule or () if t.get("date")))


def preview(call: Call) -> dict:
    """What ``publish`` would publish now: ``{"rows": SCDL rows, "laureates": [...]}`` (the snapshot)."""
    awarding = scdl.Awarding(name=call.awarding_body_name, siret=call.awarding_body_siret, programme=call.title)
    rows, laureates = [], []
    for decision in _laureate_decisions(call):
        laureate = _laureate(decision)
        row = scdl.scdl_row(laureate, awarding)
        rows.append(row)
        laureates.append({"dossier_id": laureate.dossier_id, "decision_id": laureate.decision_id,
                          "pole_name": laureate.pole_name, "carrier_legal_name": row["nomBeneficiaire"],
                          "departments": list(laureate.departments), "amount_eur": row["montant"],
                          "object": row["objet"]})
    return {"schema": f"{scdl.SCHEMA} {scdl.SCHEMA_VERSION}", "rows": rows, "laureates": laureates}


def _check(call: Call, snapshot: dict) -> None:
    if call.status not in PUBLISHABLE:
        raise DomainError(N_("Les résultats se publient à la fin de la délibération de l'appel."))
    pending = db.session.scalar(sa.select(sa.func.count(Decision.id)).join(Dossier, Dossier.id == Decision.dossier_id)
                                .where(Dossier.call_id == call.id, Decision.is_current,
                                       Decision.notified_at.is_(None))) or 0
    if pending:
        raise DomainError(N_("Les résultats ne peuvent pas être publiés : %(count)s décision(s) n'ont pas encore été "
                             "notifiées (page « Notification des décisions »).", count=pending))
    if not snapshot["rows"]:
        raise DomainError(N_("Aucun dossier lauréat : il n'y a rien à publier."))
    wrong = scdl.problems(snapshot["rows"])
    if wrong:
        name, column = wrong[0]
        raise DomainError(N_("Les données ouvertes ne seraient pas valides : « %(column)s » manque ou est incorrect "
                             "pour « %(name)s » (SIRET de l'organisme attribuant dans les paramètres de l'appel, SIRET et "
                             "résumé du dossier, date de la décision).", column=column, name=name or "—"))


def publish(call: Call, *, by, note: str = "", now: datetime | None = None) -> Publication:
    """Publish the current laureates of ``call`` as a new version (see the module). The caller commits."""
    now = now or utcnow()
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update())  # one version at a time
    snapshot = preview(call)
    _check(call, snapshot)
    previous = current(call)
    if previous is not None and previous.snapshot.get("rows") == snapshot["rows"]:
        raise DomainError(N_("Rien n'a changé depuis la version %(version)s publiée : aucune nouvelle version.",
                             version=previous.version))
    number = previous.version + 1 if previous else 1
    storage = file_storage.get_storage()
    files = []
    for kind, data in (("csv", scdl.to_csv(snapshot["rows"])), ("json", scdl.to_json(snapshot["rows"]))):
        key = file_key(call, number, kind)
        storage.put(key, io.BytesIO(data), content_type=FILES[kind][1])
        files.append({"kind": kind, "key": key, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    if previous is not None:
        previous.superseded_at = now
        db.session.flush()  # the partial unique index: one current version
    publication = Publication(call_id=call.id, version=number, snapshot=snapshot, files=files,
                              change_note=note.strip(), published_at=now, published_by_id=getattr(by, "id", None))
    db.session.add(publication)
    if call.status == CallStatus.DELIBERATION:
        set_call_status(call, CallStatus.PUBLISHED, by=by, now=now)
    db.session.flush()
    summary = {"version": number, "laureates": [r["decision_id"] for r in snapshot["laureates"]],
               "files": {f["kind"]: f["sha256"] for f in files}, "note": publication.change_note}
    if previous is None:
        audit.record("call.published", call, actor=by, summary={"after": summary})
        _mail_poles(call)
    else:
        audit.record("publication.corrected", call, actor=by,
                     summary={"before": {"version": previous.version}, "after": summary})
    return publication


def _mail_poles(call: Call) -> None:
    """« Résultats publiés » to every person of each pole with a current decision in the call, once."""
    memberships = db.session.scalars(
        sa.select(PoleMembership).where(PoleMembership.pole_id.in_(
            sa.select(Dossier.pole_id).join(Decision, Decision.dossier_id == Dossier.id)
            .where(Dossier.call_id == call.id, Decision.is_current)))
        .options(joinedload(PoleMembership.user)).order_by(PoleMembership.id)).all()
    link = external_url("public.call", slug=call.slug, _anchor="laureats")
    for user in {m.user.id: m.user for m in memberships}.values():
        notify(user.email, "publication", {"name": one_line(user.display_name, max_length=80),
                                           "call_title": one_line(call.title, max_length=200), "link": link},
               dedupe_key=f"publication:{call.id}:{user.id}", user=user)
