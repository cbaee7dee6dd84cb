"""Admin pages of issue 4: a call's dossiers with their verdict, the re-run and its progress page, a
dossier's checks and the override, failed notifications and "Renvoyer". Admins only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.enums import DossierStatus, JobKind, JobStatus, NotificationStatus
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Dossier, EligibilityCheck
from ptce_aap.models.outbox import JobRun, Notification
from ptce_aap.services import eligibility as service
from ptce_aap.services import submission
from tests.fixtures.queries import count_queries
from tests.integration.test_eligibility import _bulk_dossiers


@pytest.fixture(autouse=True)
def eligibility_tasks():
    """The tasks module (``ptce_aap.tasks``, registered by ``create_app`` like every task)."""
    from ptce_aap import tasks as module

    return module


def _reload(db, dossier_id):
    db.session.expire_all()
    return db.session.get(Dossier, dossier_id)


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def submitted(make_dossier, applicant, db):
    """A submitted dossier, checked (eligible)."""
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    service.run_check(dossier)
    db.session.commit()
    return dossier


def _failed_notification(db, recipient="porteur@example.org") -> Notification:
    notification = Notification(
        recipient=recipient, template="eligibility_result", dedupe_key=f"test-failed-{recipient}",
        context={"name": "Julie", "pole_name": "Pôle du Val", "verdict_text": "dossier recevable", "failed": [],
                 "link": "/porteur/"},
        status=NotificationStatus.FAILED, attempts=5, last_error="SMTPServerDisconnected: Connection unexpectedly closed")
    db.session.add(notification)
    db.session.commit()
    return notification


# --- access --------------------------------------------------------------------------------------

def _admin_urls(call, dossier, run, notification):
    return [
        ("get", "/admin/"),
        ("get", f"/admin/appels/{call.slug}/dossiers"),
        ("get", f"/admin/appels/{call.slug}/eligibilite"),
        ("post", f"/admin/appels/{call.slug}/eligibilite"),
        ("get", f"/admin/taches/{run.id}"),
        ("get", f"/admin/taches/{run.id}.json"),
        ("get", f"/admin/dossiers/{dossier.id}"),
        ("post", f"/admin/dossiers/{dossier.id}/verdict"),
        ("post", f"/admin/dossiers/{dossier.id}/verifier"),
        ("get", "/admin/notifications"),
        ("post", f"/admin/notifications/{notification.id}/renvoyer"),
    ]


@pytest.mark.parametrize("who", ["applicant", "reviewer", "anonymous"])
def test_only_admins_reach_the_admin_pages(who, client, login_as, submitted, applicant, reviewer, admin_user, db):
    run = service.rerun_for_call(submitted.call, by=admin_user)
    notification = _failed_notification(db)
    db.session.commit()
    if who != "anonymous":
        login_as({"applicant": applicant, "reviewer": reviewer}[who])
    for method, url in _admin_urls(submitted.call, submitted, run, notification):
        response = getattr(client, method)(url, data={"verdict": "ineligible", "reason": "Essai d'intrusion"})
        if who == "anonymous":
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/compte/connexion"), url
        else:
            assert response.status_code == 403, url
            assert "Accès refusé" in _text(response)
    # Nothing happened.
    assert _reload(db, submitted.id).status == DossierStatus.ELIGIBLE
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == 1
    assert db.session.get(Notification, notification.id).status == NotificationStatus.FAILED


def test_admin_reaches_every_admin_page(client, login_as, submitted, admin_user, db):
    run = service.rerun_for_call(submitted.call, by=admin_user)
    notification = _failed_notification(db)
    db.session.commit()
    login_as(admin_user)
    for method, url in _admin_urls(submitted.call, submitted, run, notification):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_unknown_objects_are_404(client, login_as, admin_user):
    login_as(admin_user)
    for url in ["/admin/appels/inconnu/dossiers", "/admin/taches/999.json", "/admin/taches/999",
                "/admin/dossiers/999"]:
        assert client.get(url).status_code == 404, url
    assert client.post("/admin/notifications/999/renvoyer").status_code == 404


# --- dashboard and the call's dossiers -----------------------------------------------------------

def test_dashboard_lists_calls_with_links_and_failed_notifications(client, login_as, admin_user, submitted, db):
    _failed_notification(db)
    login_as(admin_user)
    page = _text(client.get("/admin/"))
    call = submitted.call
    assert f'<a href="/admin/appels/{call.slug}/dossiers">{call.title}</a>' in page
    assert "1 courriel n’a pas pu être envoyé" in page
    assert 'href="/admin/notifications"' in page


def test_call_dossiers_list_status_verdict_and_failed_rules(
        client, login_as, admin_user, make_dossier, make_user, make_call, db):
    from ptce_aap.enums import MemberCategory

    call = make_call()
    eligible = make_dossier(call=call, pole_name="Pôle Alpha", complete=True)
    ineligible = make_dossier(call=call, pole_name="Pôle Bêta", complete=True)
    ineligible.members[1].category = MemberCategory.ESS
    draft = make_dossier(call=call, pole_name="Pôle Brouillon", complete=True)
    other_call = make_dossier(pole_name="Pôle d'un autre appel", complete=True)
    for d in (eligible, ineligible, other_call):
        submission.submit_dossier(d, by=make_user(), now=utcnow())
        service.run_check(d)
    db.session.commit()
    login_as(admin_user)
    page = _text(client.get(f"/admin/appels/{call.slug}/dossiers"))
    assert "2 dossiers" in page
    assert "Pôle Brouillon" not in page and "Pôle d&#39;un autre appel" not in page
    row_alpha = re.search(rf'<tr data-dossier="{eligible.id}">.*?</tr>', page, re.S).group(0)
    assert f'href="/admin/dossiers/{eligible.id}">Pôle Alpha</a>' in row_alpha
    assert "Recevable" in row_alpha and "Éligible" in row_alpha and 'data-failed="0"' in row_alpha
    row_beta = re.search(rf'<tr data-dossier="{ineligible.id}">.*?</tr>', page, re.S).group(0)
    assert "Irrecevable" in row_beta and "Non éligible" in row_beta and 'data-failed="1"' in row_beta
    assert "1 bloquante" in row_beta
    # Filter by status.
    filtered = _text(client.get(f"/admin/appels/{call.slug}/dossiers?statut=ineligible"))
    assert "Pôle Bêta" in filtered and "Pôle Alpha" not in filtered
    assert "Pôle Brouillon" not in _text(client.get(f"/admin/appels/{call.slug}/dossiers?statut=draft"))
    assert draft.status == DossierStatus.DRAFT


def test_call_dossiers_sort_and_pagination(client, login_as, admin_user, make_call, db):
    call = make_call()
    ids = _bulk_dossiers(db, call, 120)
    login_as(admin_user)
    page1 = _text(client.get(f"/admin/appels/{call.slug}/dossiers?tri=pole"))
    rows = re.findall(r'<tr data-dossier="(\d+)">', page1)
    assert len(rows) == 50
    assert "page 1 sur 3" in page1
    assert rows[0] == str(ids[0]) and rows[-1] == str(ids[49])  # "Pôle 0000" … "Pôle 0049"
    assert 'aria-sort="ascending"' in page1
    page3 = _text(client.get(f"/admin/appels/{call.slug}/dossiers?tri=pole&page=3"))
    assert re.findall(r'<tr data-dossier="(\d+)">', page3) == [str(i) for i in ids[100:]]
    desc = _text(client.get(f"/admin/appels/{call.slug}/dossiers?tri=pole&ordre=desc"))
    assert re.findall(r'<tr data-dossier="(\d+)">', desc)[0] == str(ids[-1])
    assert 'aria-sort="descending"' in desc
    # Sorting by status follows the dossier's lifecycle: submitted before eligible.
    service.run_check(_reload(db, ids[5]))
    db.session.commit()
    by_status = _text(client.get(f"/admin/appels/{call.slug}/dossiers?tri=statut&ordre=desc"))
    assert re.findall(r'<tr data-dossier="(\d+)">', by_status)[0] == str(ids[5])
    # Page links keep the sort.
    assert f'href="/admin/appels/{call.slug}/dossiers?page=2&amp;tri=pole"' in page1
    # Out-of-range page: the last one.
    assert "page 3 sur 3" in _text(client.get(f"/admin/appels/{call.slug}/dossiers?page=99"))


def test_call_dossiers_query_count_does_not_grow_with_dossiers(client, login_as, admin_user, make_call, db):
    call = make_call()
    url = f"/admin/appels/{call.slug}/dossiers"
    ids = _bulk_dossiers(db, call, 3)
    for i in ids:
        service.run_check(_reload(db, i))
    db.session.commit()
    login_as(admin_user)
    client.get(url)  # warm-up
    with count_queries(db) as few:
        assert client.get(url).status_code == 200
    more = _bulk_dossiers(db, call, 60)
    for i in more[:30]:
        service.run_check(_reload(db, i))
    db.session.commit()
    with count_queries(db) as many:
        page = _text(client.get(url))
    assert len(re.findall(r'<tr data-dossier="', page)) == 50
    # user, call, its categories, the fingerprint of the call's scores (kept since the warm-up: the grid's weights
    # and the review totals are read only when it changes), the decisions not notified, the reviewers in
    # conflict, the count, the page, the checkable count (issue 11: the list's filters read the scores and
    # conflicts of the call).
    assert len(many) == len(few) == 9, "\n\n".join(s[:150] for s in few + ["-----"] + many)


# --- re-run and progress -------------------------------------------------------------------------

def test_rerun_button_confirmation_progress_page_and_json(client, login_as, admin_user, submitted, db, worker):
    call = submitted.call
    login_as(admin_user)
    listing = _text(client.get(f"/admin/appels/{call.slug}/dossiers"))
    assert f'href="/admin/appels/{call.slug}/eligibilite"' in listing
    assert "Relancer l'éligibilité</a>" in listing
    confirm = _text(client.get(f"/admin/appels/{call.slug}/eligibilite"))
    assert "1 dossier sera vérifié de nouveau" in confirm
    assert 'method="post"' in confirm
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 0  # GET changes nothing
    response = client.post(f"/admin/appels/{call.slug}/eligibilite")
    assert response.status_code == 302
    run = db.session.scalar(sa.select(JobRun))
    assert response.headers["Location"] == f"/admin/taches/{run.id}"
    page = client.get(response.headers["Location"])
    html = _text(page)
    assert "La vérification de l’éligibilité des dossiers a été lancée." in html
    assert f'data-progress-url="/admin/taches/{run.id}.json"' in html
    assert '<progress class="ptce-progress fr-my-1w" id="progression-barre" max="1" value="0">0 / 1</progress>' in html
    assert f'<a class="fr-link fr-icon-refresh-line fr-link--icon-left" href="/admin/taches/{run.id}">Actualiser</a>' in html
    assert '<script src="/static/progress.js" defer></script>' in html
    assert all(" src=" in tag for tag in re.findall(r"<script[^>]*>", html))  # no inline script (CSP)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get(f"/admin/taches/{run.id}.json").get_json()["status"] == "queued"
    jobs.dispatch_outbox()
    worker()
    data = client.get(f"/admin/taches/{run.id}.json").get_json()
    assert data == {"status": "done", "status_label": "Terminé", "done": 1, "total": 1,
                    "message": "Terminé. 1 dossier vérifié : 1 recevable, 0 irrecevable. 0 statut a changé lors de "
                               "cette vérification."}
    done = _text(client.get(f"/admin/taches/{run.id}"))
    assert 'max="1" value="1"' in done
    assert "data-progress-refresh hidden" in done
    assert "Terminé. 1 dossier vérifié" in done
    script = client.get("/static/progress.js")
    assert script.status_code == 200 and b"data-progress-url" in script.data
    script.close()


def test_progress_page_shows_a_run_in_the_middle(client, login_as, admin_user, make_call, db):
    call = make_call()
    run = JobRun(kind=JobKind.ELIGIBILITY_RERUN, call_id=call.id, name=f"eligibility_rerun:{call.id}",
                 status=JobStatus.RUNNING, done=300, total=1000,
                 message="Dossiers vérifiés : 300 sur 1\u202f000.", created_by_id=admin_user.id)
    db.session.add(run)
    db.session.commit()
    login_as(admin_user)
    html = _text(client.get(f"/admin/taches/{run.id}"))
    assert 'max="1000" value="300"' in html
    assert "Dossiers vérifiés : 300 sur 1\u202f000." in html
    assert f'href="/admin/appels/{call.slug}/dossiers"' in html
    assert client.get(f"/admin/taches/{run.id}.json").get_json() == {
        "status": "running", "status_label": "En cours", "done": 300, "total": 1000,
        "message": "Dossiers vérifiés : 300 sur 1\u202f000."}


# --- a dossier: checks, override -----------------------------------------------------------------

def test_dossier_page_shows_the_latest_check_rule_by_rule_and_the_history(
        client, login_as, admin_user, submitted, db):
    login_as(admin_user)
    html = _text(client.get(f"/admin/dossiers/{submitted.id}"))
    for code in ["siret", "legal_person", "min_members", "ess_core", "enterprise_partner", "territorial_link",
                 "not_previously_funded", "documents", "budget_balanced", "state_share", "deadline",
                 "same_territory"]:
        assert f'<tr data-rule="{code}" data-passed="true">' in html
    assert "Le pôle compte 4 membres personnes morales (au moins 3 requis)." in html
    assert "Bloquante" in html and "Indicative" in html
    assert "Vérification automatique" in html
    assert html.count("<tr data-check=") == 1


def test_override_with_reason_changes_status_and_is_audited(client, login_as, admin_user, submitted, db):
    login_as(admin_user)
    response = client.post(f"/admin/dossiers/{submitted.id}/verdict",
                           data={"verdict": "ineligible", "reason": "La lettre d'engagement n° 3 n'est pas signée."})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/dossiers/{submitted.id}"
    d = _reload(db, submitted.id)
    assert d.status == DossierStatus.INELIGIBLE
    check = service.latest_check(d)
    assert (check.is_override, check.is_eligible, check.actor_id) == (True, False, admin_user.id)
    assert check.override_reason == "La lettre d'engagement n° 3 n'est pas signée."
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "dossier.eligibility_overridden"))
    assert event.actor_id == admin_user.id and event.ip == "127.0.0.1"
    assert event.summary["reason"] == "La lettre d'engagement n° 3 n'est pas signée."
    html = _text(client.get(response.headers["Location"]))
    assert "Le verdict d’éligibilité a été enregistré avec son motif." in html
    assert "Verdict forcé par l’administration" in html
    assert "La lettre d&#39;engagement n° 3 n&#39;est pas signée." in html
    assert "Décision de Camille Admin" in html
    assert html.count("<tr data-check=") == 2
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.template == "eligibility_result")) == 1


def test_override_without_reason_is_refused_and_keeps_what_was_typed(client, login_as, admin_user, submitted, db):
    login_as(admin_user)
    response = client.post(f"/admin/dossiers/{submitted.id}/verdict", data={"verdict": "ineligible", "reason": "  "})
    assert response.status_code == 400
    html = _text(response)
    assert ("Indiquez le motif de votre décision : il est obligatoire et sera conservé dans l’historique du "
            "dossier.") in html
    assert re.search(r'<input[^>]*\bchecked\b[^>]*value="ineligible"|<input[^>]*value="ineligible"[^>]*\bchecked\b',
                     html)
    too_long = "Motif détaillé. " * 130  # over 2,000 characters
    response = client.post(f"/admin/dossiers/{submitted.id}/verdict",
                           data={"verdict": "eligible", "reason": too_long})
    assert response.status_code == 400
    html = _text(response)
    assert "Le motif ne doit pas dépasser 2 000 caractères." in html
    assert too_long.strip() in html  # the text is kept in the textarea
    assert _reload(db, submitted.id).status == DossierStatus.ELIGIBLE
    assert db.session.scalar(sa.select(sa.func.count(EligibilityCheck.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))
                             .where(AuditEvent.action == "dossier.eligibility_overridden")) == 0


def test_override_of_a_dossier_no_longer_checkable_is_refused_in_french(
        client, login_as, admin_user, submitted, applicant, db):
    submission.withdraw_dossier(submitted, by=applicant)
    db.session.commit()
    login_as(admin_user)
    response = client.post(f"/admin/dossiers/{submitted.id}/verdict",
                           data={"verdict": "eligible", "reason": "Retrait annulé par téléphone."})
    assert response.status_code == 400
    html = _text(response)
    assert "L’éligibilité d’un dossier « Retiré » ne peut pas être examinée" in html
    assert "Le verdict d’éligibilité ne peut plus être modifié : le dossier est « Retiré »." in html
    assert _reload(db, submitted.id).status == DossierStatus.WITHDRAWN


def test_recheck_button_runs_the_rules_again(client, login_as, admin_user, submitted, db):
    settings = dict(submitted.call.eligibility_settings)
    settings["min_members"] = {"mode": "blocking", "minimum": 8}
    submitted.call.eligibility_settings = settings
    db.session.commit()
    login_as(admin_user)
    response = client.post(f"/admin/dossiers/{submitted.id}/verifier")
    assert response.status_code == 302
    d = _reload(db, submitted.id)
    assert d.status == DossierStatus.INELIGIBLE
    check = service.latest_check(d)
    assert (check.is_override, check.actor_id) == (False, admin_user.id)
    html = _text(client.get(f"/admin/dossiers/{submitted.id}"))
    assert "Le pôle compte 4 membres personnes morales ; il en faut au moins 8." in html
    assert "Vérification lancée par Camille Admin" in html
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 1  # status changed: pole told


# --- failed notifications ------------------------------------------------------------------------

def test_failed_notifications_are_listed_and_resent(client, login_as, admin_user, db, worker, smtp):
    notification = _failed_notification(db, "julie@example.org")
    login_as(admin_user)
    html = _text(client.get("/admin/notifications"))
    row = re.search(rf'<tr data-notification="{notification.id}">.*?</tr>', html, re.S).group(0)
    assert "julie@example.org" in row and "eligibility_result" in row and "<td>5</td>" in row
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in row
    assert f'action="/admin/notifications/{notification.id}/renvoyer"' in row
    response = client.post(f"/admin/notifications/{notification.id}/renvoyer")
    assert response.status_code == 302
    assert "Le courriel à julie@example.org a été remis en file d’envoi." in _text(client.get(response.headers["Location"]))
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "notification.retried"))
    assert event.actor_id == admin_user.id
    worker()
    mails = smtp.wait_for(1)
    assert [m["To"] for m in mails] == ["julie@example.org"]
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).status == NotificationStatus.SENT
    assert "Aucune notification en échec." in _text(client.get("/admin/notifications"))
    # Resending a notification that is not failed is refused.
    again = client.post(f"/admin/notifications/{notification.id}/renvoyer", follow_redirects=True)
    assert "Seule une notification en échec peut être renvoyée." in _text(again)
