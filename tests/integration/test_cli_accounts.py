"""``flask ptce create-admin``."""

from __future__ import annotations

import sqlalchemy as sa

from ptce_aap.enums import Role
from ptce_aap.models.accounts import User
from ptce_aap.models.audit import AuditEvent
from ptce_aap.passwords import verify_password

ADMIN_PASSWORD = "Admin-ptce-2026!"


def user_by_email(db, email) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_create_admin_with_password_option(app, db):
    result = app.test_cli_runner().invoke(args=["ptce", "create-admin", "X@Y.fr", "--password", ADMIN_PASSWORD])

    assert result.exit_code == 0, result.output
    assert result.output == "Administrateur créé : x@y.fr\n"
    user = user_by_email(db, "x@y.fr")
    assert (user.is_admin, user.is_applicant, user.is_reviewer) == (True, False, False)
    assert user.email_verified_at is not None
    assert verify_password(user.password_hash, ADMIN_PASSWORD)
    assert db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))
                              .order_by(AuditEvent.id)).all() == ["user.password_changed", "user.created"]


def test_create_admin_prompts_for_the_password_twice(app, db):
    result = app.test_cli_runner().invoke(args=["ptce", "create-admin", "x@y.fr"],
                                          input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert "Mot de passe: \nRepeat for confirmation: \n" in result.output
    assert ADMIN_PASSWORD not in result.output  # hidden input
    assert result.output.endswith("Administrateur créé : x@y.fr\n")
    assert verify_password(user_by_email(db, "x@y.fr").password_hash, ADMIN_PASSWORD)


def test_create_admin_refuses_a_weak_password_in_french(app, db):
    result = app.test_cli_runner().invoke(args=["ptce", "create-admin", "x@y.fr", "--password", "admin"])

    assert result.exit_code == 1
    assert ("Le mot de passe doit contenir au moins 12 caractères. Le mot de passe doit mêler au moins trois "
            "types de caractères parmi : minuscules, majuscules, chiffres et caractères spéciaux.") in result.output
    assert user_by_email(db, "x@y.fr") is None


def test_create_admin_on_an_existing_account_grants_the_role(app, db, make_user):
    user = make_user("porteur@example.org", roles=(Role.APPLICANT,))
    old_hash = user.password_hash

    result = app.test_cli_runner().invoke(args=["ptce", "create-admin", "porteur@example.org"])

    assert result.exit_code == 0, result.output
    assert result.output == "Le compte porteur@example.org est désormais administrateur.\n"
    user = user_by_email(db, "porteur@example.org")
    assert (user.is_admin, user.is_applicant) == (True, True)
    assert user.password_hash == old_hash
    granted = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.role_granted"))
    assert (granted.object_id, granted.actor_id, granted.summary) == (str(user.id), None, {"role": "admin"})


def test_admin_created_by_cli_can_log_in(app, db):
    app.test_cli_runner().invoke(args=["ptce", "create-admin", "x@y.fr", "--password", ADMIN_PASSWORD])

    response = app.test_client().post("/compte/connexion", data={"email": "x@y.fr", "password": ADMIN_PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_create_admin_refuses_an_unverified_account_without_a_password(app, db, make_user):
    """Whoever registered an unverified address chose its password: they must not become administrator."""
    user = make_user("porteur@example.org", roles=(Role.APPLICANT,), verified=False)
    old_hash = user.password_hash

    result = app.test_cli_runner().invoke(args=["ptce", "create-admin", "porteur@example.org"])

    assert result.exit_code == 1
    assert "n'a pas confirmé son adresse" in result.output and "--password" in result.output
    user = user_by_email(db, "porteur@example.org")
    assert (user.is_admin, user.password_hash, user.email_verified_at) == (False, old_hash, None)


def test_create_admin_with_a_password_takes_over_an_unverified_account(app, db, make_user):
    user = make_user("porteur@example.org", roles=(Role.APPLICANT,), verified=False)
    old_token = user.session_token

    result = app.test_cli_runner().invoke(args=["ptce", "create-admin", "porteur@example.org",
                                                "--password", ADMIN_PASSWORD])

    assert result.exit_code == 0, result.output
    assert result.output == "Le compte porteur@example.org est désormais administrateur.\n"
    user = user_by_email(db, "porteur@example.org")
    assert user.is_admin and user.email_verified_at is not None and user.session_token != old_token
    assert verify_password(user.password_hash, ADMIN_PASSWORD)
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))
                                 .order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["user.password_changed", "user.email_verified", "user.role_granted"]
