"""English is complete: in English, every page a public visitor, an applicant and an admin can reach shows
no French — validation and completeness messages, eligibility explanations, choices (legal forms, member
categories, activity domains…), the budget's live text.

What may stay French, and is ignored here: what people typed (pole names, members, budget lines, texts), call
content written by the secretariat (titles, descriptions, document types, criteria: the pages say so), proper
names (regions, departments, communes, people), elements marked ``lang="fr"`` (the language switch) and the
few words that are the same in both languages (``ALLOWED``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from ptce_aap.enums import CallStatus, LegalForm, MemberCategory, PaymentTerms, Recommendation, Role
from ptce_aap.models.base import utcnow
from tests.integration._crawl import crawl as shared_crawl
from tests.integration.test_csrf import PASSWORD

# Words and phrases identical in English, or French on purpose (the State's logo is « République française »).
ALLOWED = ["/appels/", "République\nFrançaise", "République Française", "République française", "Caisse des Dépôts", "Marianne", "PTCE", "SIRET", "SIREN", "RNA", "INSEE",
           "ESS", "ESUS", "SCIC", "SCOP", "DSFR", "ETP", "Français"]
ACCENTED = re.compile(r"\b\w*[éèêëàâçùûôîïœ]\w*\b", re.IGNORECASE)
# Frequent French words that are not English words (nor common in English text).
FRENCH_WORDS = {"le", "la", "les", "des", "du", "une", "est", "et", "pour", "avec", "dans", "sur", "pas", "vous",
                "votre", "vos", "aux", "au", "ce", "cette", "ces", "qui", "que", "sont", "ou", "ne", "il", "elle",
                "nous", "leur", "leurs", "mais", "sans", "par", "chaque", "aucun", "aucune", "tous", "toutes",
                "renseigner", "choisir", "saisir", "ajouter", "retirer", "enregistrer", "modifier", "supprimer",
                "appel", "appels", "pièce", "pièces", "membre", "membres", "ressources",
                "dépenses", "montant", "oui", "autre", "autres", "aide", "accueil", "projet", "projets"}
SKIPPED_TAGS = {"script", "style", "template", "noscript"}
VISIBLE_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
MAX_PAGES = 370  # each call has its « Publication des résultats » page, and its « Statistiques » page and CSV


class TextParser(HTMLParser):
    """The text a person sees or hears on a page, without scripts, styles and ``lang="fr"`` elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.links: list[str] = []
        self._stack: list[bool] = []  # per open element: skipped?

    @property
    def _skipping(self) -> bool:
        return any(self._stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        skip = tag in SKIPPED_TAGS or (a.get("lang") or "").startswith("fr") and tag != "html"
        if not self._skipping and not skip:
            self.chunks += [a[name] for name in VISIBLE_ATTRIBUTES if a.get(name)]
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.chunks.append(a["value"])
        if tag not in VOID:
            self._stack.append(skip)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self._stack.pop()

    def handle_endtag(self, tag):
        if tag not in VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if not self._skipping and data.strip():
            self.chunks.append(data)


def user_content(db) -> list[str]:
    """Everything people typed or the secretariat wrote, and proper names: ignored, longest first."""
    from ptce_aap.domain import geography
    from ptce_aap.models.accounts import Institution, User
    from ptce_aap.models.calls import Call, CallCategory, Criterion, DocumentType
    from ptce_aap.models.decisions import Decision
    from ptce_aap.models.dossiers import Attachment, Dossier, DossierTransition, FinancingLine, Member
    from ptce_aap.models.messages import DossierMessage
    from ptce_aap.models.pool import RegionalGroup
    from ptce_aap.models.publications import Publication
    from ptce_aap.models.reviews import Assignment, ConflictOfInterest, Review, ReviewScore

    found: set[str] = set()

    def add(*values):
        for value in values:
            if isinstance(value, dict):
                add(*value.values())
            elif isinstance(value, str) and value.strip():
                found.update(line.strip(" #*-") for line in value.splitlines() if line.strip(" #*-"))

    for call in db.session.scalars(db.select(Call)):
        add(call.title, call.description_md, call.awarding_body_name, call.signatory_name, call.signatory_title)
    for model, columns in [(Criterion, ("label", "guidance")), (CallCategory, ("label",)),
                           (DocumentType, ("label", "description")), (Member, ("name",)),
                           (FinancingLine, ("label", "funder")), (Attachment, ("filename",)),
                           (User, ("full_name",)), (DossierTransition, ("reason",)),
                           (Institution, ("name",)), (RegionalGroup, ("name",)),
                           (Review, ("confidential_note",)), (ReviewScore, ("comment",)),
                           (Assignment, ("decline_reason",)), (DossierMessage, ("body",)),
                           (Assignment, ("decline_reason",)),
                           (Decision, ("motivation", "reference", "correction_reason")),
                           (ConflictOfInterest, ("cleared_reason",)), (Publication, ("change_note",)),
                           (Dossier, ("pole_name", "carrier_legal_name", "address", "commune_name", "activity_other",
                                      "cooperation", "governance_text", "summary", "strategy", "innovation",
                                      "territorial_anchoring", "expected_impacts", "jobs_text", "rd_partners",
                                      "raw_inputs"))]:
        for row in db.session.scalars(db.select(model)):
            add(*(getattr(row, column) for column in columns))
    add(*(r.name for r in geography.regions().values()), *(d.name for d in geography.departments().values()))
    return sorted(found, key=len, reverse=True)


def french_in(text: str, ignored: list[str]) -> list[str]:
    """The sentences of ``text`` that still look French once user content and allowed words are removed."""
    for value in [*ignored, *ALLOWED]:
        text = text.replace(value, " ")
    found = []
    for sentence in re.split(r"(?<=[.!?:;])\s+|\n+|\s{2,}", text):
        words = re.findall(r"(?<!\w)[^\W\d_]+(?!\w)", sentence)  # not the letters of "4b19a2ce"
        if ACCENTED.search(sentence) or any(w.lower() in FRENCH_WORDS for w in words) \
                or re.search(r"\b[lmnsdjcq][’']\w", sentence, re.IGNORECASE):
            found.append(sentence.strip())
    return found


def crawl_in_english(client, seeds: list[str], ignored: list[str], role: str):
    """GET every page reachable from ``seeds``: ``({page: [French sentences]}`` for pages that have some,
    ``{page: visible text})``. A linked page is visited with one query string only (sort and filter links of a
    list show the same words); seeds are always visited."""
    assert client.post("/langue/en").status_code == 302
    report: dict[str, list[str]] = {}
    texts: dict[str, str] = {}

    def visit(path, response):
        html = response.get_data(as_text=True)
        assert '<html lang="en"' in html, f"{role} {path} is not in English"
        parser = TextParser()
        parser.feed(html)
        texts[f"{role} {path}"] = re.sub(r"\s+", " ", " ".join(parser.chunks))
        french = french_in("\n".join(parser.chunks), ignored)
        if french:
            report[f"{role} {path}"] = sorted(set(french))
        return parser.links

    seen = shared_crawl(client, seeds, visit, role=role, max_pages=MAX_PAGES,
                        skip=lambda path: "/langue/" in path or "deconnexion" in path)
    assert len(seen) > 3
    return report, texts


def _login(app, email: str):
    client = app.test_client()
    assert client.post("/compte/connexion", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _review_world(db, call, dossier, admin, make_user, make_call) -> dict:
    """The committee's side of ``call``: a reviewer pool (institutions, a regional group), detected, declared
    and admin conflicts, assignments, a draft and a submitted review, a call in preparation (its grid)."""
    from ptce_aap.models.pool import RegionalGroup, ReviewerPoolMember
    from ptce_aap.models.reviews import Assignment, Review, ReviewScore
    from ptce_aap.services import conflicts as conflict_service
    from ptce_aap.services import pool as pool_service

    group = RegionalGroup(call_id=call.id, region_code=dossier.region_code, name="Groupe régional")
    db.session.add(group)
    db.session.flush()
    carrier_siren = dossier.carrier_siret[:9]  # the pole's own SIREN: a detected conflict
    staked = pool_service.create_institution("Institution liée", "caisse_des_depots", carrier_siren, by=admin)
    anct = pool_service.create_institution("Agence nationale", "state_agency", "", by=admin)
    reviewer = make_user("rapporteur@example.org", roles=(Role.REVIEWER,), full_name="Louis Rapporteur")
    regional = make_user("regional@example.org", roles=(Role.REVIEWER,), full_name="Rose Régionale")
    second = make_user("rapporteuse@example.org", roles=(Role.REVIEWER,), full_name="Lise Rapporteuse")
    colleague = make_user("collegue@example.org", roles=(Role.REVIEWER,), full_name="Paul Collègue")
    pool_service.invite_reviewer(call, reviewer.email, full_name="", by=admin,
                                 settings=pool_service.MemberSettings(institution_id=staked.id))
    pool_service.invite_reviewer(call, regional.email, full_name="", by=admin,
                                 settings=pool_service.MemberSettings(institution_id=anct.id,
                                                                      regional_group_id=group.id))
    for person in (second, colleague):
        db.session.add(ReviewerPoolMember(call_id=call.id, user_id=person.id, institution_id=anct.id))
    conflict_service.add_conflict(call, reviewer, kind="department", value="01", by=reviewer)
    conflict_service.add_conflict(call, reviewer, kind="department", value="02", by=admin)
    conflict_service.detect_conflicts(call)
    db.session.add(Assignment(dossier_id=dossier.id, reviewer_id=regional.id, institution_id=anct.id))
    for person, done in ((second, None), (colleague, utcnow())):
        assignment = Assignment(dossier_id=dossier.id, reviewer_id=person.id, institution_id=anct.id)
        db.session.add(Review(assignment=assignment, recommendation=Recommendation.FAVORABLE, submitted_at=done,
                              scores=[ReviewScore(criterion_id=c.id, score=3) for c in call.criteria]))
    draft = make_call(slug="ptce-brouillon", title="Appel en préparation", status=CallStatus.DRAFT)
    draft.criteria[0].weight = 30
    db.session.commit()
    return {"reviewer": reviewer, "regional": regional, "second": second, "draft": draft}


def _committee_world(db, admin, make_call, make_dossier, owner) -> list[str]:
    """A call in deliberation: a laureate paid in tranches and corrected, a session with its attendance, agenda,
    a decision taken in it and its minutes; the pages of the committee to crawl."""
    from datetime import date

    from ptce_aap.enums import DecisionOutcome, DossierStatus, PaymentTerms
    from ptce_aap.services import committee
    from ptce_aap.services import pool as pool_service
    from ptce_aap.services.decisions import DecisionInput, Tranche, decide
    from ptce_aap.services.dossiers import set_dossier_status

    call = make_call(slug="ptce-2025", title="Appel en délibération")
    dossiers = []
    for name in ("Pôle lauréat", "Pôle en attente"):
        dossier = make_dossier(call=call, owner=owner, pole_name=name, complete=True)
        for status in (DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE, DossierStatus.IN_REVIEW,
                       DossierStatus.REVIEWED):
            set_dossier_status(dossier, status, by=None)
        dossiers.append(dossier)
    call.status = CallStatus.DELIBERATION
    dgcs = pool_service.create_institution("Direction générale de la cohésion sociale", "ministry", "", by=admin)
    session = committee.create_session(call, held_on=date(2026, 12, 3), place="Bercy", by=admin)
    committee.set_attendance(session, [committee.AttendanceInput(dgcs.id, True, "Jeanne Martin")], by=admin)
    committee.set_agenda(session, [d.id for d in dossiers], by=admin)
    laureate = DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Solide.", amount_eur=Decimal("60000"),
                             payment_terms=PaymentTerms.STAGED, payment_period_start=date(2027, 1, 1),
                             payment_period_end=date(2027, 12, 31),
                             tranches=[Tranche(date(2027, 1, 15), Decimal("40000")),
                                       Tranche(date(2027, 6, 15), Decimal("20000"))])
    decide(dossiers[0], laureate, by=admin, session=session)
    db.session.flush()
    laureate.correction_reason, laureate.reference = "Erreur de saisie.", "DEC-2026-007"
    decide(dossiers[0], laureate, by=admin, session=session)
    db.session.commit()
    return [f"/admin/appels/{call.slug}/decisions", f"/admin/appels/{call.slug}/seances",
            f"/admin/seances/{session.id}", f"/admin/seances/{session.id}/presences",
            f"/admin/seances/{session.id}/modifier", f"/admin/dossiers/{dossiers[0].id}",
            f"/admin/dossiers/{dossiers[0].id}/decision", f"/admin/dossiers/{dossiers[1].id}/decision",
            f"/admin/dossiers/{dossiers[1].id}/decision?seance={session.id}"]
def _decision_world(db, applicant, admin, make_call, make_dossier):
    """A deliberating call (``ptce-2026``) with a notified decision (its letter stored) and one to notify, a
    withdrawn dossier's decision that cannot be; returns the applicant's notified dossier."""
    from ptce_aap.enums import DecisionOutcome, DossierStatus
    from ptce_aap.services import decision_letters
    from ptce_aap.services.decisions import DecisionInput, decide
    from ptce_aap.services.dossiers import set_dossier_status

    call = make_call(slug="ptce-2026", title="Appel à projets PTCE 2026")
    dossiers = [make_dossier(call=call, owner=applicant, pole_name=name, complete=True)
                for name in ("Pôle lauréat", "Pôle en attente", "Pôle parti")]
    for dossier in dossiers:
        for status in (DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE, DossierStatus.IN_REVIEW,
                       DossierStatus.REVIEWED):
            set_dossier_status(dossier, status, by=None)
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    decide(dossiers[0], DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Très bon projet.",
                                      amount_eur=Decimal("50000"), payment_terms=PaymentTerms.SINGLE), by=admin)
    db.session.commit()
    decision, = decision_letters.notify_decisions(call, by=admin)
    db.session.commit()
    decision_letters.issue_letter(decision.id)
    for dossier in dossiers[1:]:
        decide(dossier, DecisionInput(outcome=DecisionOutcome.WAITLISTED, motivation="Classé 12e."), by=admin)
    set_dossier_status(dossiers[2], DossierStatus.WITHDRAWN, by=None)
    db.session.commit()
    return dossiers[0]
def _publication_world(db, admin, make_call, make_reviewed_dossier) -> str:
    """A published call (``ptce-publie``) with one laureate, corrected once (two versions); returns its slug."""
    from datetime import date

    from ptce_aap.enums import DecisionOutcome
    from ptce_aap.services import decision_letters, publication
    from ptce_aap.services.decisions import DecisionInput, decide

    call = make_call(slug="ptce-publie", title="Appel à projets publié")
    dossier = make_reviewed_dossier(call=call, pole_name="Pôle publié")
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    decide(dossier, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Très bon projet.",
                                  amount_eur=Decimal("50000"), committee_date=date(2026, 12, 3),
                                  payment_terms=PaymentTerms.SINGLE), by=admin)
    decision_letters.notify_decisions(call, by=admin)
    db.session.commit()
    publication.publish(call, by=admin)
    dossier.carrier_legal_name = "Association publiée (corrigée)"
    db.session.commit()
    publication.publish(call, by=admin, note="Nom corrigé.")
    db.session.commit()
    return call.slug


def _scenario_world(db, admin, people, make_call, make_reviewed_dossier) -> list[str]:
    """A deliberating call with two scored dossiers and two saved scenarios: the pages of the ranking, the
    simulator's result (a saved scenario run again), the comparison, the apply and delete confirmations."""
    from ptce_aap.models.calls import CallCategory
    from ptce_aap.models.reviews import Assignment, Review, ReviewScore
    from ptce_aap.services import scenarios as scenario_service  # the simulator's, for this world only

    call = make_call(slug="ptce-2024", title="Appel en délibération", envelope_eur=Decimal("100000"))
    db.session.add(CallCategory(call_id=call.id, code="emergence", label="Émergence", quota=1))
    for score, name in ((4, "Pôle premier"), (3, "Pôle second")):
        dossier = make_reviewed_dossier(call=call, pole_name=name)
        dossier.category_code = "emergence"
        db.session.add(Review(assignment=Assignment(dossier_id=dossier.id, reviewer_id=people["second"].id),
                              recommendation=Recommendation.FAVORABLE, submitted_at=utcnow(),
                              scores=[ReviewScore(criterion_id=c.id, score=score) for c in call.criteria]))
    call.status = CallStatus.DELIBERATION
    db.session.commit()
    saved = [scenario_service.save(call, name, scenario_service.run(call, scenario_service.Params(
        score_kind="raw", quotas=quotas)), by=admin) for name, quotas in (("Quota", {"emergence": 1}), ("Libre", {}))]
    db.session.commit()
    base = f"/admin/appels/{call.slug}"
    return [f"{base}/classement", f"{base}/scenarios", f"{base}/simulateur?scenario={saved[0].id}",
            f"{base}/scenarios/comparer?ids={saved[0].id}&ids={saved[1].id}",
            f"{base}/scenarios/{saved[0].id}/appliquer", f"{base}/scenarios/{saved[0].id}/supprimer"]


@pytest.fixture
def english_world(app, db, make_call, make_dossier, make_user, make_reviewed_dossier):
    """A draft left empty, a draft full of errors (with a pending co-editor invitation), an ineligible, an
    eligible and a withdrawn dossier; reviewers with conflicts, assignments, reviews, a regional group."""
    from ptce_aap.models.dossiers import FinancingLine
    from ptce_aap.services import eligibility as eligibility_service
    from ptce_aap.services import submission

    applicant = make_user("porteur@example.org", full_name="Julie Porteur")
    admin = make_user("admin@example.org", roles=(Role.ADMIN,), full_name="Camille Admin")
    call = make_call(slug="ptce-2027", title="Appel à projets PTCE 2027", has_regional_instruction=True,
                     reviewers_per_dossier=4)
    make_call(slug="ptce-2020", title="Appel clos", opens_at=utcnow().replace(year=2020),
              closes_at=utcnow().replace(year=2020, month=12))
    make_dossier(call=call, owner=applicant, pole_name="Pôle brouillon")
    eligible = make_dossier(call=call, owner=applicant, pole_name="Pôle déposé", complete=True)
    submission.submit_dossier(eligible, by=applicant, now=utcnow())
    eligibility_service.run_check(eligible)
    ineligible = make_dossier(call=call, owner=applicant, pole_name="Pôle irrecevable", complete=True, members=2)
    submission.submit_dossier(ineligible, by=applicant, now=utcnow())
    ineligible.departments = ["75"]  # after submission: the check finds what is wrong
    ineligible.amount_requested_eur = Decimal("150000")
    ineligible.carrier_legal_form = LegalForm.COLLECTIVITE
    ineligible.financing_lines.append(FinancingLine(position=9, kind="expense", label="Loyer",
                                                    amount_eur=Decimal("1000")))
    db.session.commit()
    eligibility_service.run_check(ineligible)
    withdrawn = make_dossier(call=call, owner=applicant, pole_name="Pôle retiré", complete=True)
    submission.submit_dossier(withdrawn, by=applicant, now=utcnow())
    submission.withdraw_dossier(withdrawn, by=applicant, reason="Le pôle se réorganise.")
    db.session.commit()
    wrong = make_dossier(call=call, owner=applicant, pole_name="Pôle à corriger", complete=True, members=3)
    wrong.carrier_siret = "12345678901234"
    wrong.commune_insee = "2A004"
    wrong.cooperation_start_year = 1900
    wrong.members[0].siret = "123"
    wrong.members[1].category = None
    wrong.members[2].category = MemberCategory.ESS
    wrong.total_budget_eur = Decimal("1000")
    wrong.raw_inputs = {"jobs_to_create_fte": "beaucoup", "lines-0-amount_eur": "deux mille"}
    wrong.jobs_to_create_fte = None
    wrong.financing_lines[1].amount_eur = None
    wrong.attachments = wrong.attachments[:2]
    db.session.commit()
    # A thread: a message, a request answered, a request waiting for its answer (and a message on the reviewed
    # dossier, for the reading views).
    from datetime import timedelta  # this world only

    from ptce_aap.services import messages as message_service  # idem

    due_on = (utcnow() + timedelta(days=7)).date().isoformat()
    correcting = make_dossier(call=call, owner=applicant, pole_name="Pôle à compléter", complete=True)
    submission.submit_dossier(correcting, by=applicant, now=utcnow())
    message_service.send_message(correcting, body="Bonjour, une question sur le projet.", by=admin)
    answered = message_service.request_complements(correcting, body="Précisez le projet.", sections=["projet"],
                                                   document_types=[], due_on=due_on, by=admin, now=utcnow())
    message_service.answer_request(answered, body="C'est précisé.", by=applicant, now=utcnow())
    waiting = message_service.request_complements(correcting, body="Joignez les statuts signés.",
                                                  sections=["budget"], document_types=["statuts"], due_on=due_on,
                                                  by=admin, now=utcnow())
    message_service.send_message(eligible, body="Une précision pour les rapporteurs.", by=admin)
    db.session.commit()
    people = _review_world(db, call, eligible, admin, make_user, make_call)
    committee_pages = _committee_world(db, admin, make_call, make_dossier, applicant)
    decided = _decision_world(db, applicant, admin, make_call, make_dossier)
    scenarios = _scenario_world(db, admin, people, make_call, make_reviewed_dossier)
    published = _publication_world(db, admin, make_call, make_reviewed_dossier)
    applicant_client = _login(app, applicant.email)
    assert applicant_client.post(f"/porteur/dossiers/{wrong.id}/coediteurs",
                                 data={"email": "invitee@example.org"}).status_code == 302
    return {
        "visitor": (app.test_client(), ["/", "/appels", "/appels/ptce-2027", "/compte/connexion",
                                        "/compte/inscription", "/compte/mot-de-passe-oublie", "/page-inconnue",
                                        f"/appels/{published}", f"/appels/{published}/publications"]),
        "applicant": (applicant_client, ["/porteur/", f"/porteur/dossiers/{wrong.id}",
                                                     f"/porteur/dossiers/{ineligible.id}",
                                                     f"/porteur/dossiers/{correcting.id}",
                                                     f"/porteur/dossiers/{correcting.id}/demandes/{waiting.id}/repondre",
                                                     f"/porteur/dossiers/{correcting.id}/pieces",
                                                     f"/porteur/dossiers/{decided.id}"]),
        "admin": (_login(app, "admin@example.org"), [
            "/admin/", "/admin/notifications", "/admin/appels", "/admin/appels/nouveau",
            *(f"/admin/appels/{call.slug}/{page}" for page in (
                "tableau-de-bord", "parametres", "notes", "affectations", "affectations/proposition",
                f"affectations/dossiers/{eligible.id}", "rapporteurs", "conflits", "avis-regionaux")),
            "/admin/appels/ptce-brouillon/grille", "/admin/appels/ptce-brouillon/parametres",
            f"/admin/dossiers/{eligible.id}/lecture", *committee_pages,
            f"/admin/dossiers/{correcting.id}", f"/admin/dossiers/{correcting.id}/lecture",
            # the instruction list with filters (tags, an unreadable score), its bulk confirmations, the archive
            f"/admin/appels/{call.slug}/dossiers?note_min=beaucoup&desaccord=1&region=84",
            f"/admin/appels/{call.slug}/dossiers/selection?action=verifier&ids={eligible.id}",
            f"/admin/appels/{call.slug}/dossiers/selection?action=exporter_xlsx&ids={eligible.id}",
            f"/admin/appels/{call.slug}/archive", "/admin/appels/ptce-2026/notification-des-decisions",
            "/admin/appels/ptce-2026/parametres",  # a deliberating call: its signatory form
            "/admin/appels/ptce-2026/notification-des-decisions/notifier", *scenarios,
            f"/admin/appels/{published}/publication", f"/admin/appels/{published}/publication/publier",
            "/admin/appels/ptce-2026/publication"]),
        "reviewer": (_login(app, people["reviewer"].email), ["/rapporteur/", f"/rapporteur/appels/{call.slug}/conflits"]),
        "regional": (_login(app, people["regional"].email), [
            "/rapporteur/", f"/rapporteur/dossiers/{eligible.id}/declin", f"/rapporteur/appels/{call.slug}/region",
            f"/rapporteur/appels/{call.slug}/region/dossiers/{eligible.id}"]),
        "second": (_login(app, people["second"].email), [
            "/rapporteur/", f"/rapporteur/dossiers/{eligible.id}", f"/rapporteur/dossiers/{eligible.id}/evaluation",
            f"/rapporteur/dossiers/{eligible.id}/evaluation/remise"]),
    }


def test_no_french_is_left_on_any_page_in_english(db, english_world):
    ignored = user_content(db)
    report, texts = {}, {}
    for role, (client, seeds) in english_world.items():
        role_report, role_texts = crawl_in_english(client, seeds, ignored, role)
        report.update(role_report)
        texts.update(role_texts)
    # The crawl did reach the messages it is about: completeness, validation, eligibility, choices, notices.
    everything = "\n".join(texts.values())
    for expected in [": required (0 if none).", "Region: required.", "Member no. 1", "is not a valid number", "The financing plan is not balanced",
                     "The lead organisation is a local authority", "Territorial roots of the members",
                     "Private-law legal entity", "Food and sustainable agriculture", "Pooling of projects",
                     "is shown in French, as it was published", "they are written in French", "Withdrawn",
                     "Page not found", "Access denied", "invitee@example.org",
                     "Exchanges with the call secretariat", "Answer the request for additional information",
                     "Additional information requested", "Close the request without an answer",
                     "Awaiting an answer.", "The call secretariat"]:
        assert expected in everything, expected
    assert any(page.endswith("/deposer") for page in texts) and any("/admin/dossiers/" in page for page in texts)
    # The committee's pages, with data on them: calls, grid, pool, conflicts, assignments, scores, regional
    # opinions; the reviewers' dashboard, reading view, scoring form, conflicts, decline and regional workspace.
    for expected in ["The institution's SIREN", "Department 01", "With reservations", "Unfavourable",
                     "This reviewer has a conflict of interest with this application.",
                     "The scoring grid can no longer be changed", "Quorum reached: 1 institution(s) present out of 1",
                     "Instalment no. 2", "Reason for the correction", "Call's budget",
                     "The selection committee's decision",
                     "Download the decision letter", "1 decision to notify", "1 decision notified",
                     "Decisions that cannot be notified", "1 decision letter will be sent",
                     "No signatory is set: the decision letters will be signed in the name of the awarding body",
                     "Set the signatory of the letters", "Save the signatory",
                     "Name of the signatory of the decision letters",
                     "Laureate poles: lead organisation, departments", "Map of the laureates by department",
                     "Key: laureate poles covering the department", "laureate pole",
                     "Published versions of the list of laureates", "Preview of the published file",
                     "Version note (optional, public)"]:
        assert expected in everything, expected
    for page in ["admin /admin/appels", "admin /admin/appels/nouveau", "admin /admin/appels/ptce-brouillon/grille",
                 "admin /admin/appels/ptce-2027/rapporteurs", "admin /admin/appels/ptce-2027/conflits",
                 "admin /admin/appels/ptce-2027/affectations", "admin /admin/appels/ptce-2027/notes",
                 "admin /admin/appels/ptce-2027/avis-regionaux", "admin /admin/appels/ptce-2027/tableau-de-bord",
                 "admin /admin/appels/ptce-2027/archive",
                 "admin /admin/appels/ptce-2027/dossiers?note_min=beaucoup&desaccord=1&region=84",
                 "reviewer /rapporteur/",
                 "admin /admin/appels/ptce-2026/notification-des-decisions",
                 "admin /admin/appels/ptce-2026/notification-des-decisions/notifier",
                 "admin /admin/appels/ptce-2026/parametres",
                 "visitor /appels/ptce-publie", "visitor /appels/ptce-publie/publications",
                 "admin /admin/appels/ptce-publie/publication", "admin /admin/appels/ptce-publie/publication/publier",
                 "reviewer /rapporteur/appels/ptce-2027/conflits", "regional /rapporteur/appels/ptce-2027/region"]:
        assert page in texts, page
    for pattern in [r"second /rapporteur/dossiers/\d+", r"second /rapporteur/dossiers/\d+/evaluation",
                    r"regional /rapporteur/dossiers/\d+/declin", r"regional /rapporteur/appels/ptce-2027/region/dossiers/\d+",
                    r"admin /admin/appels/ptce-2027/affectations/dossiers/\d+", r"admin /admin/appels/ptce-2027/conflits/\d+/lever"]:
        assert any(re.fullmatch(pattern, page) for page in texts), pattern
    listed = "\n".join(f"{page}:\n    " + "\n    ".join(sentences) for page, sentences in report.items())
    assert not report, f"French left in English mode on {len(report)} page(s):\n{listed}"


def test_the_detector_finds_french_and_spares_english():
    assert french_in("Nom du pôle : à renseigner.", []) == ["Nom du pôle :", "à renseigner."]
    assert french_in("Le plan de financement est vide", []) != []
    assert french_in("l’appel est clos", []) != []
    assert french_in("Pole name: required. The plan is balanced: 1,000 € of resources for 1,000 € of expenses.",
                     []) == []
    assert french_in("Pôle des Monts: required.", ["Pôle des Monts"]) == []
