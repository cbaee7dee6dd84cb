"""Locust users of the load benchmarks (driven by ``bench/load.py``, one scenario per locust run).

``BENCH_SCENARIO`` picks the scenario, ``BENCH_CONTEXT`` names the JSON written by load.py (accounts, dossier
ids, call slug, API token), ``BENCH_OUT`` the JSON this run writes: for each request name, every response time,
the first and last timestamps and the errors. Requests named ``setup …`` (logins, reading a form) are left out
of the numbers: users log in once in ``on_start`` (argon2 costs ~120 ms a login) and the steady state is
measured. CSRF stays on: the token is read from the page, as a browser does.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time

import gevent
from locust import FastHttpUser, between, constant, events, task

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _forms import form_fields  # noqa: E402

SCENARIO = os.environ.get("BENCH_SCENARIO", "live")
CONTEXT = json.loads(open(os.environ["BENCH_CONTEXT"]).read()) if os.environ.get("BENCH_CONTEXT") else {}
OUT = os.environ.get("BENCH_OUT")
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n") * 40
USERS = int(os.environ.get("BENCH_USERS", "1"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
_index = itertools.count()
RECORDS: dict[str, dict] = {}
STATE = {"ready": 0, "measuring": False}


@events.test_start.add_listener
def _control(environment, **_kw):
    """Measure ``BENCH_SECONDS`` once every user has logged in (at most two minutes of set-up), then stop."""
    def control():
        deadline = time.monotonic() + 120
        while STATE["ready"] < USERS and time.monotonic() < deadline:
            gevent.sleep(0.05)
        STATE["measuring"] = True
        gevent.sleep(SECONDS)
        STATE["measuring"] = False
        environment.runner.quit()

    gevent.spawn(control)


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **_kw):
    if name.startswith("setup") or not STATE["measuring"]:
        return
    now = time.time()
    r = RECORDS.setdefault(name, {"times": [], "first": now - response_time / 1000, "last": now, "errors": 0,
                                  "error_kinds": {}})
    r["times"].append(response_time)
    r["last"] = now
    if exception is not None:
        r["errors"] += 1
        kind = str(exception)[:80]
        r["error_kinds"][kind] = r["error_kinds"].get(kind, 0) + 1


@events.quitting.add_listener
def _write(environment, **_kw):
    if OUT:
        with open(OUT, "w") as f:
            json.dump(RECORDS, f)


def encode(fields) -> str:
    from urllib.parse import urlencode

    return urlencode(fields)


class BenchUser(FastHttpUser):
    wait_time = constant(0)  # throughput scenarios: closed loop, as many requests as the server takes
    abstract = True

    def on_start(self):
        self.n = next(_index)
        # Each simulated person comes from its own address (the app trusts one proxy: PROXY_HOPS=1).
        self.headers = {"X-Forwarded-For": f"10.{self.n // 250}.{self.n % 250}.7"}
        self.csrf = ""
        self.setup()
        STATE["ready"] += 1

    def setup(self):
        """Log in, read what the tasks need (not measured)."""

    def get(self, url, name=None, **kw):
        return self.client.get(url, name=name or url, headers=self.headers | kw.pop("headers", {}), **kw)

    def login(self, email: str):
        page = self.get("/compte/connexion", name="setup login page")
        token = CSRF_META.search(page.text).group(1)
        body = encode({"csrf_token": token, "email": email, "password": CONTEXT["password"]})
        with self.client.post("/compte/connexion", data=body, name="setup login", catch_response=True,
                              headers=self.headers | {"Content-Type": "application/x-www-form-urlencoded"}) as r:
            if "/compte/connexion" in (r.url or "") or r.status_code != 200:
                r.failure(f"login refused for {email}")
                raise RuntimeError(f"login refused for {email}: {r.status_code}")
        self.csrf = CSRF_META.search(r.text).group(1)


class Live(BenchUser):
    @task
    def live(self):
        self.get("/healthz/live", name="healthz/live")


class Applicant(BenchUser):
    """One applicant on their own draft (the open call's drafts): pages and autosave."""

    abstract = True

    def setup(self):
        super().setup()
        self.account = CONTEXT["drafts"][self.n % len(CONTEXT["drafts"])]
        self.login(self.account["email"])
        self.base = f"/porteur/dossiers/{self.account['dossier_id']}"
        page = self.get(f"{self.base}/projet", name="setup section")
        self.fields = form_fields(page.text, "data-autosave")
        self.saves = 0

    def autosave(self, name="autosave (projet)"):
        self.saves += 1
        fields = [(k, v + f" Mise à jour {self.saves}." if k == "summary" else v) for k, v in self.fields]
        with self.client.post(f"{self.base}/projet", data=encode(fields), name=name, catch_response=True,
                              headers=self.headers | {"X-Autosave": "1", "Accept": "application/json",
                                                      "Content-Type": "application/x-www-form-urlencoded"}) as r:
            data = r.json() if r.status_code == 200 else {}
            if not data.get("ok"):
                r.failure(f"autosave {r.status_code}: {r.text[:80]}")
                return
            self.fields = [(k, str(data["version"]) if k == "version" else data["base"] if k == "base" else v)
                           for k, v in self.fields]


class SummaryPage(Applicant):
    @task
    def summary(self):
        self.get(self.base, name="dossier summary")


class MembersPage(Applicant):
    @task
    def members(self):
        self.get(f"{self.base}/membres", name="section membres (15 members)")


class BudgetPage(Applicant):
    @task
    def budget(self):
        self.get(f"{self.base}/budget", name="section budget")


class ProjectPage(Applicant):
    @task
    def project(self):
        self.get(f"{self.base}/projet", name="section projet")


class Autosave(Applicant):
    @task
    def save(self):
        self.autosave()


class RushApplicant(Applicant):
    """The deadline rush: a person's pace (a pause of 0.5–1.5 s), autosaving, reading their summary, uploading
    one document through S3 (presigned POST, then confirm) and, after 6–9 actions, submitting (then reading
    the summary: the receipt). Few actions before the submission, so that it happens within a short run even
    when every request takes seconds."""

    wait_time = between(0.5, 1.5)

    def setup(self):
        super().setup()
        self.actions, self.submit_after, self.uploaded, self.submitted = 0, random.randint(6, 9), False, False

    @task
    def step(self):
        self.actions += 1
        if self.submitted:
            self.get(self.base, name="rush: summary after submission")
            return
        if self.actions >= self.submit_after:
            self.submit()
        elif not self.uploaded and self.actions >= 3:
            self.upload()
        elif self.actions % 3 == 2:
            self.get(self.base, name="rush: summary")
        else:
            self.autosave(name="rush: autosave")

    def upload(self):
        self.uploaded = True
        started = self.client.post(
            f"{self.base}/pieces/televersement", name="rush: upload start",
            data=json.dumps({"document_type": "autre", "filename": f"annexe-{self.n}.pdf", "size": len(PDF),
                             "content_type": "application/pdf"}),
            headers=self.headers | {"Content-Type": "application/json", "X-CSRFToken": self.csrf,
                                    "Accept": "application/json"})
        if started.status_code != 201:
            return
        data = started.json()
        boundary = f"----bench{random.getrandbits(64):x}"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in data["fields"].items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="annexe.pdf"\r\n'
                     f"Content-Type: application/pdf\r\n\r\n".encode() + PDF + f"\r\n--{boundary}--\r\n".encode())
        self.client.post(data["url"], data=b"".join(parts), name="rush: upload to S3 (presigned POST)",
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        self.client.post(data["confirm_url"], data="{}", name="rush: upload confirm",
                         headers=self.headers | {"Content-Type": "application/json", "X-CSRFToken": self.csrf,
                                                 "Accept": "application/json"})

    def submit(self):
        page = self.get(f"{self.base}/deposer", name="rush: submit page")
        token = CSRF_META.search(page.text).group(1)  # the confirmation form holds its token only
        with self.client.post(f"{self.base}/deposer", data=encode({"csrf_token": token}), name="rush: submit", catch_response=True,
                              headers=self.headers | {"Content-Type": "application/x-www-form-urlencoded"}) as r:
            # « Récépissé n° … », or « … déposé sous le n° … » while a file sent just before is still being
            # verified (the receipt follows the verification): both are a submission.
            if r.status_code != 200 or not ("Récépissé n°" in r.text or "a été déposé sous le n°" in r.text):
                r.failure(f"submit {r.status_code}: not submitted")
            else:
                self.submitted = True


class Reviewer(BenchUser):
    abstract = True
    def setup(self):
        super().setup()
        reviewer = CONTEXT["reviewers"][self.n % len(CONTEXT["reviewers"])]
        self.login(reviewer["email"])
        self.dossier_ids = reviewer["dossier_ids"]


class ReviewerDashboard(Reviewer):
    @task
    def dashboard(self):
        self.get("/rapporteur/", name="reviewer dashboard")


class ScoringForm(Reviewer):
    @task
    def form(self):
        self.get(f"/rapporteur/dossiers/{random.choice(self.dossier_ids)}/evaluation", name="scoring form")


class Admin(BenchUser):
    abstract = True
    def setup(self):
        super().setup()
        self.login(CONTEXT["admin"])
        self.slug, self.pages = CONTEXT["slug"], max(1, CONTEXT["dossiers"] // 50)


class InstructionList(Admin):
    @task
    def listing(self):
        self.get(f"/admin/appels/{self.slug}/dossiers?page={random.randint(1, min(self.pages, 20))}",
                 name="admin instruction list (50 rows)")


class Ranking(Admin):
    @task
    def ranking(self):
        self.get(f"/admin/appels/{self.slug}/classement", name="admin ranking")


class ApiList(BenchUser):
    @task
    def api(self):
        page = random.randint(1, min(max(1, CONTEXT["dossiers"] // 50), 20))
        self.get(f"/api/v1/calls/{CONTEXT['slug']}/dossiers?page={page}", name="API dossiers list (50 rows)",
                 headers={"Authorization": f"Bearer {CONTEXT['token']}"})


SCENARIOS = {"live": Live, "summary": SummaryPage, "members": MembersPage, "budget": BudgetPage,
             "project": ProjectPage, "autosave": Autosave, "rush": RushApplicant,
             "reviewer_dashboard": ReviewerDashboard, "scoring_form": ScoringForm,
             "instruction_list": InstructionList, "ranking": Ranking, "api_list": ApiList}
for _name, _cls in SCENARIOS.items():
    _cls.abstract = _name != SCENARIO
del _name, _cls  # locust collects every User class of the module: no second name for the last one
