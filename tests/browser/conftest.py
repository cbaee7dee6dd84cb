"""Browser tests: the app served on a loopback port, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ptce_aap.settings import ROOT

CHROMIUM_PATHS = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "_artifacts"


def _chromium() -> str:
    for path in CHROMIUM_PATHS:
        if Path(path).exists():
            return path
    found = shutil.which("chromium")
    if not found:
        pytest.fail("Chromium is not installed: run `make test` (it installs Debian's chromium)")
    return found


@pytest.fixture(scope="session")
def live_server(_app):
    """The session app served by a real HTTP server in a thread."""
    server = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture(scope="session")
def _browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=_chromium(),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--disable-component-update", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(_browser, app, live_server, request):
    """A fresh browser page (French locale) whose base URL is the live server; screenshot on failure."""
    context = _browser.new_context(base_url=live_server, locale="fr-FR", bypass_csp=False)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def check_accessibility(page, *, context: str = "") -> None:
    """Run axe-core (WCAG 2.1 A/AA rules) in the page and fail on any violation."""
    page.evaluate(AXE_JS.read_text())  # evaluated by the driver, so the page's CSP does not block it
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    assert result == [], f"axe violations {context}: " + json.dumps(result, ensure_ascii=False, indent=1)
