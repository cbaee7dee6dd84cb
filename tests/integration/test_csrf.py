"""CSRF as in production: every POST form the app renders carries the token, every page gives its scripts
the token, and every state-changing endpoint refuses a request that comes without one.

The test client adds a token to the requests of the other tests (tests/conftest.py); these tests are what
keep that convenience from hiding a template that forgot ``csrf_token``.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from ptce_aap.enums import CallStatus, Role
from ptce_aap.models.base import utcnow
from tests.integration._crawl import crawl as shared_crawl

PASSWORD = "Mot-de-passe-2026!"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_MESSAGE = ("Le formulaire a expiré ou n'est pas valide. Rechargez la page et réessayez : ce que vous "
                "aviez saisi n'a pas été enregistré.")
# The only view that takes a POST without a CSRF token: the local storage's upload, which a signed,
# expiring policy protects instead (the browser posts the file there as it would to S3).
EXEMPT = {"storage.upload"}
# Called by static/attachments.js with the page's <meta name="csrf-token"> in X-CSRFToken, never by a form.
SCRIPT_ONLY = {"applicants.start_upload", "applicants.confirm_upload"}
MAX_PAGES = 330  # each call now has its « Statistiques » page and CSV


class FormParser(HTMLParser):
    """The POST forms of a page (their action and hidden csrf_token values), its links and its meta token."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self.meta_token: str | None = None
        self._form: dict | None = None
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "meta" and a.get("name") == "csrf-token":
            self.meta_token = a.get("content")
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"method": (a.get("method") or "get").lower(), "action": a.get("action"), "tokens": []}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name") == "csrf_token":
            self._form["tokens"].append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _endpoint(app, path: str) -> str:
    parts = urlsplit(path)
    endpoint, _args = app.url_map.bind("localhost").match(parts.path, method="POST")
    return endpoint


def crawl(app, client, seeds: list[str], role: str):
    """GET every page reachable from ``seeds`` through links; ``(pages, forms)`` with each POST form's
    endpoint, the page it is on and the tokens it carries."""
    pages, forms = {}, []

    def visit(path, response):
        parser = FormParser()
        parser.feed(response.get_data(as_text=True))
        pages[path] = (response.status_code, parser.meta_token)
        # (WTForms gives every form's hidden token the id "csrf_token": hidden, never labelled nor targeted.)
        repeated = sorted({i for i in parser.ids if parser.ids.count(i) > 1} - {"csrf_token"})
        assert not repeated, f"{role} {path}: ids used twice {repeated}"  # labels, anchors and ARIA would break
        for form in parser.forms:
            if form["method"] == "post":
                action = form["action"] or urlsplit(path).path
                forms.append({"page": f"{role} {path}", "endpoint": _endpoint(app, urlsplit(action).path),
                              "tokens": form["tokens"], "meta": parser.meta_token})
        return parser.links

    shared_crawl(client, seeds, visit, role=role, max_pages=MAX_PAGES)
    return pages, forms


def _link(messages, prefix: str) -> str:
    """The one link to ``prefix…`` in ``messages`` (a mail's plain text part)."""
    urls = {url for message in messages
            for url in re.findall(r"https?://\S+" + re.escape(prefix) + r"\S+",
                                  message.get_body(preferencelist=("plain",)).get_content())}
    [url] = urls
    return urlsplit(url).path


def _login(app, email: str):
    client = app.test_client()
    response = client.post("/compte/connexion", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, email
    return client


@pytest.fixture
def world(app, db, make_call, make_dossier, make_user, smtp, worker, make_reviewed_dossier):
    """Something on every page of every space: dossiers in each state, co-editors and invitations, an
    eligibility re-run, a failed mail, and the links that only come by mail."""
    from ptce_aap.enums import NotificationStatus
    from ptce_aap.models.outbox import Notification
    from ptce_aap.models.pool import RegionalGroup, ReviewerPoolMember
    from ptce_aap.services import eligibility as eligibility_service
    from ptce_aap.services import submission

    applicant = make_user("porteur@example.org", full_name="Julie Porteur")
    other = make_user("autre@example.org", full_name="Marc Autre")
    coeditor = make_user("coediteur@example.org", full_name="Léa Coéditrice")
    admin = make_user("admin@example.org", roles=(Role.ADMIN,), full_name="Camille Admin")
    reviewer = make_user("rapporteur@example.org", roles=(Role.REVIEWER,), institution="ANCT",
                         full_name="Louis Rapporteur")
    from ptce_aap.services import api_tokens

    api_tokens.create(admin, by=None)  # its revocation form, reached from « Jetons d'API »
    # Four reviewers per dossier: the submitted one has three below, the automatic proposal adds the spare.
    call = make_call(slug="ptce-2027", title="Appel à projets PTCE 2027", has_regional_instruction=True,
                     reviewers_per_dossier=4)
    make_call(slug="ptce-2020", title="Appel clos", opens_at=utcnow().replace(year=2020),
              closes_at=utcnow().replace(year=2020, month=12), has_regional_instruction=True)
    make_call(slug="ptce-2028", title="Appel en préparation", status=CallStatus.DRAFT)  # its full settings form
    make_dossier(call=call, owner=applicant, pole_name="Pôle brouillon")
    complete = make_dossier(call=call, owner=applicant, pole_name="Pôle complet", complete=True)
    submitted = make_dossier(call=call, owner=applicant, pole_name="Pôle déposé", complete=True)
    submission.submit_dossier(submitted, by=applicant, now=utcnow())
    eligibility_service.run_check(submitted)
    # A request for complements waiting for its answer: the applicant's answer form, the admin's « clore ».
    from datetime import timedelta  # this world only

    from ptce_aap.services import messages as message_service  # idem

    correcting = make_dossier(call=call, owner=applicant, pole_name="Pôle à compléter", complete=True)
    submission.submit_dossier(correcting, by=applicant, now=utcnow())
    message_service.request_complements(correcting, body="Précisez.", sections=["projet"], document_types=["statuts"],
                                        due_on=(utcnow() + timedelta(days=5)).date().isoformat(), by=admin,
                                        now=utcnow())
    message_service.send_message(submitted, body="Bonjour.", by=admin)  # the applicant's reply form
    group = RegionalGroup(call_id=call.id, region_code=submitted.region_code, name="Groupe régional")
    db.session.add(group)
    db.session.flush()  # the reviewer in the dossier's regional group (below): its avis and ranking forms
    theirs = make_dossier(call=call, owner=other, pole_name="Pôle de Marc")
    # The reviewer pool: a member whose institution is a member of the submitted pole (a detected conflict
    # to clear), with a conflict they declared and one an admin set (to withdraw, to remove).
    from ptce_aap.services import conflicts as conflict_service  # the pool's services, for this world only
    from ptce_aap.services import pool as pool_service  # idem

    cdc = pool_service.create_institution("Caisse des Dépôts", "caisse_des_depots", "356000000", by=admin)
    pool_service.invite_reviewer(call, reviewer.email, full_name="", by=admin,
                                 settings=pool_service.MemberSettings(institution_id=cdc.id))
    # Another reviewer, without conflict, in the submitted dossier's regional group: its avis and ranking forms.
    anct = pool_service.create_institution("Agence nationale de la cohésion des territoires", "state_agency", "",
                                           by=admin)
    regional = make_user("regional@example.org", roles=(Role.REVIEWER,), full_name="Rose Régionale")
    pool_service.invite_reviewer(call, regional.email, full_name="", by=admin,
                                 settings=pool_service.MemberSettings(institution_id=anct.id,
                                                                      regional_group_id=group.id))
    # A person without an account, invited by mail: their welcome page (a POST form), the admin's « resend ».
    pool_service.invite_reviewer(call, "nouveau-rapporteur@example.org", full_name="Nina Invitée", by=admin,
                                 settings=pool_service.MemberSettings(institution_id=anct.id))
    conflict_service.add_conflict(call, reviewer, kind="department", value="01", by=reviewer)
    conflict_service.add_conflict(call, reviewer, kind="department", value="02", by=admin)
    # Assignments: a second reviewer in the pool (two institutions), the regional reviewer assigned to the
    # submitted dossier (the admin's assignment pages, the decline page).
    from ptce_aap.models.reviews import Assignment

    second = make_user("rapporteuse@example.org", roles=(Role.REVIEWER,), institution="Ministère de l'Économie",
                       full_name="Lise Rapporteuse")
    db.session.add(ReviewerPoolMember(call_id=call.id, user_id=second.id, institution_id=second.institution_id))
    db.session.add(Assignment(dossier_id=submitted.id, reviewer_id=regional.id, institution_id=anct.id))
    db.session.add(Notification(
        recipient="perdu@example.org", template="eligibility_result", dedupe_key="test-failed",
        context={"name": "Julie", "pole_name": "Pôle du Val", "verdict_text": "dossier recevable", "failed": [],
                 "link": "/porteur/"},
        status=NotificationStatus.FAILED, attempts=5, last_error="SMTPServerDisconnected"))
    db.session.commit()

    clients = {role: _login(app, email) for role, email in [
        ("applicant", applicant.email), ("other", other.email), ("coeditor", coeditor.email),
        ("admin", "admin@example.org"), ("reviewer", "rapporteur@example.org"),
        ("regional", "regional@example.org"), ("second", "rapporteuse@example.org")]}
    invite = f"/porteur/dossiers/{complete.id}/coediteurs"
    for email in ("invitee@example.org", coeditor.email):  # one stays pending, so it can be cancelled
        assert clients["applicant"].post(invite, data={"email": email}).status_code == 302
    assert clients["other"].post(f"/porteur/dossiers/{theirs.id}/coediteurs",
                                 data={"email": applicant.email}).status_code == 302
    worker()
    smtp.wait_for(3)
    to_coeditor, to_applicant = smtp.to(coeditor.email), smtp.to(applicant.email)
    invited_reviewer = smtp.to("nouveau-rapporteur@example.org")
    assert clients["coeditor"].post(_link(to_coeditor, "/porteur/invitations/")).status_code == 302
    anonymous = app.test_client()
    anonymous.post("/compte/mot-de-passe-oublie", data={"email": other.email})
    worker()
    smtp.wait_for(4)
    reset = smtp.to(other.email)
    anonymous.post("/compte/inscription", data={"email": "nouvelle@example.org", "full_name": "Nouvelle Personne",
                                                "password": PASSWORD, "password_confirm": PASSWORD,
                                                "accept_terms": "y"})
    worker()
    smtp.wait_for(5)
    verification = smtp.to("nouvelle@example.org")  # its page asks for the password in a POST form
    clients["admin"].post(f"/admin/appels/{call.slug}/eligibilite")  # a re-run, for its progress page
    # Reviews: the reviewer's complete draft (its form and its submit confirmation), a colleague's submitted
    # review (the admin's reopen form on the scores page).
    from ptce_aap.enums import Recommendation
    from ptce_aap.models.reviews import Review, ReviewScore

    # The second reviewer writes the draft (the regional reviewer's assignment stays without review: the
    # decline form); a spare pool member stays unassigned (the admin's « add a reviewer » form).
    colleague = make_user("collegue@example.org", roles=(Role.REVIEWER,), institution="CDC")
    spare = make_user("renfort@example.org", roles=(Role.REVIEWER,), institution="Ministère de la Culture")
    db.session.add(ReviewerPoolMember(call_id=call.id, user_id=spare.id, institution_id=spare.institution_id))
    for person, done in ((second, None), (colleague, utcnow())):
        assignment = Assignment(dossier_id=submitted.id, reviewer_id=person.id, institution_id=person.institution_id)
        db.session.add(Review(assignment=assignment, recommendation=Recommendation.FAVORABLE, submitted_at=done,
                              scores=[ReviewScore(criterion_id=c.id, score=3) for c in call.criteria]))
    # A call in preparation: its grid can still be edited (add, edit, move, delete, restore the default).
    draft = make_call(slug="ptce-brouillon", title="Appel en préparation", status=CallStatus.DRAFT)
    draft.criteria[0].weight = 30  # not the default grid any more: the page offers to restore it
    # A call in deliberation: its decisions page and a dossier's decision form, a committee session (its
    # attendance, agenda and minutes forms), the new session form.
    from datetime import date

    from ptce_aap.enums import DossierStatus
    from ptce_aap.services import committee
    from ptce_aap.services.dossiers import set_dossier_status

    deliberating = make_call(slug="ptce-2025", title="Appel en délibération")
    decided = make_dossier(call=deliberating, owner=other, pole_name="Pôle en délibération", complete=True)
    for status in (DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE, DossierStatus.IN_REVIEW, DossierStatus.REVIEWED):
        set_dossier_status(decided, status, by=None)
    deliberating.status = CallStatus.DELIBERATION
    db.session.add(ReviewerPoolMember(call_id=deliberating.id, user_id=spare.id, institution_id=spare.institution_id))
    db.session.flush()
    committee.create_session(deliberating, held_on=date(2026, 12, 3), place="Bercy", by=admin)
    db.session.commit()
    # A deliberating call with a decision to notify: the notification page and its confirmation form.
    from decimal import Decimal

    from ptce_aap.enums import DecisionOutcome, PaymentTerms
    from ptce_aap.services.decisions import DecisionInput, decide

    notifying = make_call(slug="ptce-2026", title="Appel à projets PTCE 2026")
    to_notify = make_dossier(call=notifying, owner=other, pole_name="Pôle décidé", complete=True)
    for status in (DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE, DossierStatus.IN_REVIEW, DossierStatus.REVIEWED):
        set_dossier_status(to_notify, status, by=None)
    notifying.status = CallStatus.DELIBERATION
    db.session.commit()
    decide(to_notify, DecisionInput(outcome=DecisionOutcome.LAUREATE, motivation="Bon projet.",
                                  amount_eur=Decimal("40000"), payment_terms=PaymentTerms.SINGLE), by=admin)
    db.session.commit()
    # A deliberating call with a scored dossier and a saved scenario: its apply, delete and re-run pages.
    from ptce_aap.services import scenarios as scenario_service  # the simulator's, for this world only

    simulated = make_call(slug="ptce-2024", title="Appel en délibération")
    scored = make_reviewed_dossier(call=simulated, pole_name="Pôle noté")
    db.session.add(Review(assignment=Assignment(dossier_id=scored.id, reviewer_id=colleague.id,
                                                institution_id=colleague.institution_id),
                          recommendation=Recommendation.FAVORABLE, submitted_at=utcnow(),
                          scores=[ReviewScore(criterion_id=c.id, score=4) for c in simulated.criteria]))
    simulated.status = CallStatus.DELIBERATION
    db.session.commit()
    scenario_service.save(simulated, "Enveloppe seule",
                          scenario_service.run(simulated, scenario_service.Params()), by=admin)
    db.session.commit()
    return {
        "anonymous": (anonymous, ["/", "/appels", "/compte/connexion", "/compte/inscription",
                                  "/compte/mot-de-passe-oublie", "/compte/verification/renvoyer",
                                  "/compte/verifiez-vos-courriels", _link(reset, "/compte/reinitialiser/"),
                                  _link(verification, "/compte/verifier/"),
                                  _link(invited_reviewer, "/compte/invitation-rapporteur/"),
                                  "/page-inconnue"]),
        "applicant": (clients["applicant"], ["/porteur/", _link(to_applicant, "/porteur/invitations/"), "/admin/",
                                             f"/porteur/dossiers/{theirs.id}"]),
        "coeditor": (clients["coeditor"], ["/porteur/"]),
        "admin": (clients["admin"], ["/admin/", "/admin/notifications", "/admin/appels", "/porteur/",
                                     f"/admin/appels/{call.slug}/notes", f"/admin/appels/{simulated.slug}/scenarios",
                                     # the bulk action's confirmation, reached by the list's GET form
                                     f"/admin/appels/{call.slug}/dossiers/selection?action=verifier"
                                     f"&ids={submitted.id}",
                                     "/admin/appels/ptce-2026/notification-des-decisions",
                                     # the publication's confirmation (its form, whatever the call's state)
                                     "/admin/appels/ptce-2026/publication/publier"]),
        "reviewer": (clients["reviewer"], ["/rapporteur/"]),
        "regional": (clients["regional"], ["/rapporteur/", f"/rapporteur/dossiers/{submitted.id}/declin"]),
        "second": (clients["second"], ["/rapporteur/", f"/rapporteur/dossiers/{submitted.id}/evaluation/remise"]),
    }


def test_every_post_form_of_every_page_carries_the_csrf_token(app, world):
    pages, forms = {}, []
    for role, (client, seeds) in world.items():
        role_pages, role_forms = crawl(app, client, seeds, role)
        pages.update({f"{role} {path}": page for path, page in role_pages.items()})
        forms += role_forms

    without_meta = [path for path, (_status, meta) in pages.items() if not meta]
    without_token = [(f["page"], f["endpoint"]) for f in forms if f["tokens"] != [f["meta"]]]
    assert without_meta == []
    assert without_token == []
    statuses = {status for status, _meta in pages.values()}
    assert {200, 403, 404} <= statuses  # error pages too
    covered = {f["endpoint"] for f in forms}
    # The signatory form of a deliberating call, reached from the notification page's « set the signatory ».
    assert any(f["endpoint"] == "admin.call_signatory" and f["page"] == "admin /admin/appels/ptce-2026/parametres"
               for f in forms)
    assert covered == unsafe_endpoints(app) - EXEMPT - SCRIPT_ONLY, "POST endpoints no crawled page has a form for"


def unsafe_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if rule.methods & UNSAFE}


def _sample_url(app, rule) -> str:
    """A URL that the rule matches (objects need not exist: the CSRF check comes before the view)."""
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[name] = 1
        else:
            values[name] = "x"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_the_exempt_views_are_the_signed_upload_only(app):
    """The API blueprint is exempt too (bearer tokens), as long as it only reads."""
    from ptce_aap.extensions import csrf

    exempt = {rule.endpoint for rule in app.url_map.iter_rules() if rule.methods & UNSAFE
              and (f"{app.view_functions[rule.endpoint].__module__}.{app.view_functions[rule.endpoint].__name__}"
                   in csrf._exempt_views or rule.endpoint.split(".")[0] in {bp.name for bp in csrf._exempt_blueprints})}

    assert exempt == EXEMPT
    assert {bp.name for bp in csrf._exempt_blueprints} == {"api"}


def test_every_state_changing_endpoint_refuses_a_request_without_token(app, make_user):
    make_user("tout@example.org", roles=(Role.APPLICANT, Role.REVIEWER, Role.ADMIN))
    client = _login(app, "tout@example.org")  # past every role gate: only the token is missing
    rules = [rule for rule in app.url_map.iter_rules() if rule.methods & UNSAFE]
    assert {"applicants.submit", "admin.override_verdict", "auth.logout", "storage.upload"} <= {
        r.endpoint for r in rules}

    answers = {}
    for rule in rules:
        for method in sorted(rule.methods & UNSAFE):
            url = _sample_url(app, rule)
            response = client.open(url, method=method, data={"x": "1"}, csrf=False)
            refused = response.status_code == 400 and CSRF_MESSAGE in unescape(response.get_data(as_text=True))
            answers[f"{method} {rule.endpoint}"] = "refused" if refused else response.status_code

    expected = {key: "refused" for key in answers if key.split(" ")[1] not in EXEMPT}
    assert {k: v for k, v in answers.items() if k.split(" ")[1] not in EXEMPT} == expected
    assert all(answers[k] != "refused" for k in answers if k.split(" ")[1] in EXEMPT)
    assert client.get("/porteur/").status_code == 200  # still logged in: nothing was done


def test_a_token_from_another_session_is_refused(app, make_user):
    make_user("porteur@example.org")
    mine, theirs = app.test_client(), app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      theirs.get("/compte/connexion").get_data(as_text=True)).group(1)

    response = mine.post("/compte/connexion", data={"email": "porteur@example.org", "password": PASSWORD,
                                                    "csrf_token": token})

    assert response.status_code == 400
    assert CSRF_MESSAGE in unescape(response.get_data(as_text=True))
