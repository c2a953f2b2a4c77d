"""Load scenarios for tests/perf/bench.py (run by it; not collected by pytest).

Users start logged in (bench.py opened the sessions). The scenario comes from the environment: BENCH_SCENARIO names one entry of bench.py's
SCENARIOS, BENCH_TARGETS is a JSON file bench.py wrote with the URLs and logins of the
generated data, BENCH_WAIT is the think time in seconds between requests of one user ("0"
for the throughput runs).
"""
import itertools
import json
import os
import re
import threading

from locust import HttpUser, between, constant, task

SCENARIO = os.environ.get("BENCH_SCENARIO", "ceiling")
TARGETS = json.load(open(os.environ["BENCH_TARGETS"], encoding="utf-8"))
WAIT = float(os.environ.get("BENCH_WAIT", "0"))
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')
_counter = itertools.count()
_lock = threading.Lock()


def _next() -> int:
    with _lock:
        return next(_counter)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1) or match.group(2)


class Visitor(HttpUser):
    wait_time = between(WAIT * 0.5, WAIT * 1.5) if WAIT else constant(0)

    def on_start(self):
        self.scenario = TARGETS["scenarios"][SCENARIO]
        self.n = _next()
        sessions = self.scenario["sessions"]  # logged in by bench.py before the run
        self.client.cookies.update(sessions[self.n % len(sessions)])
        self.token = None
        if self.scenario.get("needs_csrf"):
            self.token = csrf_of(self.client.get(self.scenario["csrf_page"][self.n % len(self.scenario["csrf_page"])],
                                                 name="csrf page").text)
        self.done = False

    @task
    def visit(self):
        kind = self.scenario["kind"]
        if kind == "get":
            urls = self.scenario["urls"]
            self.client.get(urls[self.n % len(urls)], name=SCENARIO)
        elif kind == "post":
            posts = self.scenario["posts"]
            post = posts[self.n % len(posts)]
            with self.client.post(post["url"], name=SCENARIO, data={**post["data"], "csrf_token": self.token},
                                  headers={"HX-Request": "true", "X-CSRFToken": self.token},
                                  catch_response=True) as response:
                if response.status_code >= 400:
                    response.failure(f"HTTP {response.status_code}")
                elif "text-danger" in response.text:  # the save answered with a validation message
                    response.failure("not saved")
        elif kind == "surge":
            self._surge()

    def _surge(self):
        """One school: upload a piece of evidence, then submit the application. Once per user."""
        if self.done:
            return
        self.done = True
        school = self.scenario["schools"][self.n % len(self.scenario["schools"])]
        page = self.client.get(school["page"], name="surge: application page")
        token = csrf_of(page.text)
        with self.client.post(school["upload"], name="surge: upload evidence", data={"csrf_token": token},
                              files={"file": ("会议记录.pdf", TARGETS["evidence_pdf"].encode("latin-1"), "application/pdf")},
                              catch_response=True, allow_redirects=False) as response:
            if response.status_code >= 400:
                response.failure(f"upload HTTP {response.status_code}")
        with self.client.post(school["submit"], name="surge: submit", data={"csrf_token": token},
                              catch_response=True, allow_redirects=False) as response:
            if response.status_code >= 400:
                response.failure(f"submit HTTP {response.status_code}")
