"""Every form of the app fuzzed with Hypothesis (issue 13, point 7): each POST endpoint of the URL map is sent, as
the role that may use it (``test_access_matrix.DECISIONS``) and with a valid CSRF token, the fields its page shows
(plus a few it does not) filled with odd values — odd unicode, huge strings, negative, huge and non-finite numbers,
``1e309``, NUL bytes, impossible dates, lists instead of scalars. The answer is never a 500 (in tests an unexpected
error is raised, so Hypothesis shows the smallest example that breaks).

Bounded: a few examples per role, derandomised, so that the whole file runs in seconds.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import AnyConverter, IntegerConverter

from ptce_aap.enums import Role
from ptce_aap.models.base import utcnow
from ptce_aap.services import submission
from tests.integration.test_access_matrix import decision

# Ending the session would leave the rest of the run signed out (their forms take a password, tested elsewhere).
NOT_FUZZED = {"auth.logout", "auth.end_other_sessions", "auth.change_password"}

ROLE_DECISIONS = {
    "visitor": {"public", "secret-link"},
    "applicant": {"owner", "applicant", "signed-in"},
    "reviewer": {"assigned", "reviewer", "regional"},
    "admin": {"admin"},
}

ODD = [
    "", " ", "0", "-1", "-0", "1e309", "-1e309", "NaN", "inf", "1e-400", "99999999999999999999999999",
    "-99999999999999999999", "2147483648", "9223372036854775808", "1,5", "1 000,50 €", "²", "١٢٣", "①",
    "\x00", "a\x00b", "\u202egpj.exe", "../../etc/passwd", "<script>alert(1)</script>", "=1+1", "@SUM(A1)",
    "2026-02-30", "9999-12-31", "0000-00-00", "31/12/2026", "true", "on", "y", "None", "null", "[]", "{}",
    "\ud7ff\ufffd\U0010ffff", "é" * 300, "x" * 10_000,
]
SCALAR = st.one_of(st.sampled_from(ODD), st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
VALUE = st.one_of(SCALAR, st.lists(SCALAR, min_size=2, max_size=3))
EXTRA_FIELDS = ["id", "version", "then", "page", "amount_eur", "rows-0-name", "lines-0-amount_eur", "score_1"]

FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')


def _post_rules(app, role: str):
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods and rule.endpoint not in NOT_FUZZED
                   and decision(rule.endpoint) in ROLE_DECISIONS[role]), key=lambda r: r.rule)


def _url(app, rule, w: dict) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        if name == "dossier_id":
            values[name] = w["dossier_id"]
        elif name == "attachment_id":
            values[name] = w["attachment_id"]
        elif name == "slug":
            values[name] = w["slug"]
        elif isinstance(converter, IntegerConverter):
            values[name] = 1
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = "jeton-invente"
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


@pytest.fixture
def fuzz_world(db, make_call, make_dossier, make_user, make_assignment, applicant, admin_user):
    call = make_call(review_deadline_at=utcnow() + timedelta(days=20))
    draft = make_dossier(call=call, owner=applicant, complete=True)
    owner = make_user("deposant@example.org")
    submitted = make_dossier(call=call, owner=owner, complete=True, pole_name="Pôle déposé")
    submission.submit_dossier(submitted, by=owner, now=utcnow())
    reviewer = make_user("rapporteur@example.org", roles=(Role.REVIEWER,), institution="ANCT")
    make_assignment(submitted, reviewer)
    db.session.commit()
    return {
        "applicant": (applicant, {"dossier_id": draft.id, "attachment_id": draft.attachments[0].id}),
        "reviewer": (reviewer, {"dossier_id": submitted.id, "attachment_id": submitted.attachments[0].id}),
        "admin": (admin_user, {"dossier_id": submitted.id, "attachment_id": submitted.attachments[0].id}),
        "visitor": (None, {"dossier_id": submitted.id, "attachment_id": submitted.attachments[0].id}),
        "slug": call.slug,
    }


@pytest.mark.parametrize("role", sorted(ROLE_DECISIONS))
def test_every_form_answers_odd_input_without_a_500(app, client, login_as, fuzz_world, role):
    user, objects = fuzz_world[role]
    w = {**objects, "slug": fuzz_world["slug"]}
    if user is not None:
        login_as(user)
    forms = []
    for rule in _post_rules(app, role):
        url = _url(app, rule, w)
        fields: list[str] = []
        if "GET" in rule.methods:
            page = client.get(url)
            fields = list(dict.fromkeys(n for n in FIELD.findall(page.get_data(as_text=True)) if n != "csrf_token"))
        forms.append((url, fields + [f for f in EXTRA_FIELDS if f not in fields]))
    assert len(forms) >= {"visitor": 8, "applicant": 12, "reviewer": 7, "admin": 40}[role]
    answered: list[int] = []

    @settings(max_examples=3, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(st.data())
    def post_everything(data):
        for url, fields in forms:
            values = MultiDict()
            for name in fields:
                value = data.draw(VALUE, label=f"{url} {name}")
                for item in value if isinstance(value, list) else [value]:
                    values.add(name, item)
            if user is not None:
                login_as(user)  # a form may have changed the session (the language…): same user again
            response = client.post(url, data=values)
            assert response.status_code < 500, (url, response.status_code)
            answered.append(response.status_code)
            response.close()

    post_everything()
    assert len(answered) >= 3 * len(forms)
