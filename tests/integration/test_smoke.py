import re

import sqlalchemy as sa


def test_database_is_postgresql_with_migrated_schema(app, db):
    assert db.engine.dialect.name == "postgresql"
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"users", "calls", "dossiers", "outbox", "audit_events", "alembic_version"} <= tables


def test_login_as_gives_a_logged_in_session(make_user, login_as, client):
    user = make_user("someone@example.org", full_name="Solène Quelqu’un")
    login_as(user)
    response = client.get("/porteur/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r"<h1[^>]*>\s*Mes dossiers\s*</h1>", html)
    # The header shows who is logged in and offers to log out, not to log in.
    assert re.search(r'<a class="fr-btn fr-icon-account-circle-line" href="/compte/"[^>]*>'
                     r'Solène Quelqu(’|&#39;|&#8217;)un</a>', html)
    assert 'action="/compte/deconnexion"' in html
    assert 'href="/compte/connexion"' not in html
