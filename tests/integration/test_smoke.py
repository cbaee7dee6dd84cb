import sqlalchemy as sa


def test_database_is_postgresql_with_migrated_schema(app, db):
    assert db.engine.dialect.name == "postgresql"
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"users", "calls", "dossiers", "outbox", "audit_events", "alembic_version"} <= tables


def test_login_as_gives_a_logged_in_session(make_user, login_as, client):
    user = make_user("someone@example.org")
    login_as(user)
    response = client.get("/porteur/")
    assert response.status_code != 302
