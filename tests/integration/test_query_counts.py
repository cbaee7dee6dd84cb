"""Lists and dashboards run the same number of queries whatever the number of rows they show (no N+1).

Each page is counted with N rows, then with 3N: the counts must be equal. (Also counted elsewhere: the
admin's list of a call's dossiers, the public calls list, the dossier and attachments pages.)
"""

from __future__ import annotations

from ptce_aap.enums import NotificationStatus, Role
from ptce_aap.models.base import utcnow
from tests.fixtures.queries import count_queries


def queries_for(client, db, url: str) -> list[str]:
    db.session.expire_all()
    with count_queries(db) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return statements


def assert_same(few: list[str], many: list[str]) -> None:
    assert len(many) == len(few), "\n\n".join(s[:160] for s in [*few, "----- 3N -----", *many])


def test_applicant_dashboard(client, login_as, make_call, make_dossier, make_user, applicant, db):
    """Each dossier's history (transitions and who made them) is loaded with the dossiers, not per card."""
    from ptce_aap.models.dossiers import PoleMembership
    from ptce_aap.services import submission

    others = [make_user(f"coediteur{i}@example.org") for i in range(6)]

    def add(n: int) -> None:
        for _ in range(n):
            call = make_call()
            dossier = make_dossier(call=call, owner=others[n % len(others)], complete=True,
                                   pole_name=f"Pôle {call.slug}")
            db.session.add(PoleMembership(pole_id=dossier.pole_id, user_id=applicant.id, is_owner=False))
            submission.submit_dossier(dossier, by=others[(n + 1) % len(others)], now=utcnow())
            db.session.commit()

    login_as(applicant)
    add(2)
    client.get("/porteur/")  # warm-up
    few = queries_for(client, db, "/porteur/")
    add(4)
    many = queries_for(client, db, "/porteur/")

    page = client.get("/porteur/").get_data(as_text=True)
    assert page.count('class="fr-card fr-card--no-arrow"') == 6
    assert_same(few, many)


def test_admin_dashboard(client, login_as, make_call, make_dossier, applicant, admin_user, db):
    from ptce_aap.services import submission

    def add(n: int) -> None:
        for _ in range(n):
            dossier = make_dossier(call=make_call(), owner=applicant, complete=True)
            submission.submit_dossier(dossier, by=applicant, now=utcnow())
            db.session.commit()

    login_as(admin_user)
    add(2)
    client.get("/admin/")
    few = queries_for(client, db, "/admin/")
    add(4)
    many = queries_for(client, db, "/admin/")

    assert_same(few, many)


def test_admin_dossier_eligibility_history(client, login_as, make_dossier, make_user, applicant, db):
    """A dossier's eligibility page lists every check and override with who made it."""
    from ptce_aap.services import eligibility, submission

    admins = [make_user(f"admin{i}@example.org", roles=(Role.ADMIN,)) for i in range(6)]
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()

    def add(n: int) -> None:
        for i in range(n):
            eligibility.run_check(dossier, by=admins[i % len(admins)])
            eligibility.override(dossier, is_eligible=bool(i % 2), reason=f"Motif n° {i}", by=admins[-1 - i])
            db.session.commit()

    login_as(admins[0])
    url = f"/admin/dossiers/{dossier.id}"
    add(1)
    client.get(url)
    few = queries_for(client, db, url)
    add(2)
    many = queries_for(client, db, url)

    assert "Motif n° 1" in client.get(url).get_data(as_text=True)
    assert_same(few, many)


def test_failed_mails_list(client, login_as, admin_user, db):
    from ptce_aap.models.outbox import Notification

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            db.session.add(Notification(
                recipient=f"perdu{i}@example.org", template="eligibility_result", dedupe_key=f"failed-{i}",
                context={"name": "Julie", "pole_name": f"Pôle {i}", "verdict_text": "dossier recevable",
                         "failed": [], "link": "/porteur/"},
                status=NotificationStatus.FAILED, attempts=5, last_error="SMTPServerDisconnected"))
        db.session.commit()

    login_as(admin_user)
    add(5, 0)
    client.get("/admin/notifications")
    few = queries_for(client, db, "/admin/notifications")
    add(10, 5)
    many = queries_for(client, db, "/admin/notifications")

    assert "perdu14@example.org" in client.get("/admin/notifications").get_data(as_text=True)
    assert_same(few, many)


def test_public_call_page_and_reviewer_home(client, login_as, make_call, make_user, db):
    """The reviewer's home lists nothing yet; it is counted so that it stays constant when it does."""
    reviewer = make_user("rapporteur@example.org", roles=(Role.REVIEWER,))
    login_as(reviewer)
    make_call(slug="appel-compte")
    client.get("/rapporteur/")
    few = queries_for(client, db, "/rapporteur/")
    for _ in range(3):
        make_call()
    many = queries_for(client, db, "/rapporteur/")

    assert_same(few, many)
