"""Real concurrency for race tests: ``race(app, client, n, url, data)`` sends the same POST ``n`` times at once,
from ``n`` threads with as many test clients sharing ``client``'s session (so the same user and CSRF token),
each request in its own app context and DB session (PostgreSQL), and returns the status codes."""

from __future__ import annotations

import threading

from tests.conftest import CSRF_META


def race(app, client, n: int, url: str, data: dict | None = None, *, page: str = "/") -> list[int]:
    token = CSRF_META.search(client.get(page).get_data(as_text=True)).group(1)
    with client.session_transaction() as sess:
        session_data = dict(sess)
    barrier = threading.Barrier(n)
    codes: list[int] = []
    errors: list[BaseException] = []

    def post():
        c = app.test_client()
        with c.session_transaction() as sess:
            sess.update(session_data)
        barrier.wait()
        try:
            codes.append(c.post(url, data={**(data or {}), "csrf_token": token}).status_code)
        except BaseException as exc:  # noqa: BLE001 - a 500 in testing mode raises: report it as such
            errors.append(exc)
            codes.append(500)

    threads = [threading.Thread(target=post) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def race_many(app, client, posts: list[tuple[str, dict]], *, page: str = "/") -> list[int]:
    """Each ``(url, data)`` of ``posts`` sent at the same instant, from as many threads sharing ``client``'s
    session; the status codes in the order of ``posts``."""
    token = CSRF_META.search(client.get(page).get_data(as_text=True)).group(1)
    with client.session_transaction() as sess:
        session_data = dict(sess)
    barrier = threading.Barrier(len(posts))
    codes: list[int] = [0] * len(posts)

    def post(i: int, url: str, data: dict):
        c = app.test_client()
        with c.session_transaction() as sess:
            sess.update(session_data)
        barrier.wait()
        try:
            codes[i] = c.post(url, data={**data, "csrf_token": token}).status_code
        except BaseException:  # noqa: BLE001 - a 500 in testing mode raises: report it as such
            codes[i] = 500

    threads = [threading.Thread(target=post, args=(i, url, data)) for i, (url, data) in enumerate(posts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes
