"""The benchmark harness (issue 7): ``make bench`` (or ``.venv/bin/python tests/perf/bench.py``).

One run, side by side on this machine: it builds a PostgreSQL database of synthetic data
(``flask demo generate``), starts the app under gunicorn with Redis and an RQ worker, drives it
with locust from a second process, and writes tests/perf/RESULTS.md. Not part of the normal test
run (pytest does not collect this folder's scripts); tests/test_perf_light.py keeps a small
version of the query-count and page measurements in CI.

Full run (about 30 minutes on a quiet 2-core machine): ``make bench`` — the defaults are 500
schools, 50 users, 20 s per run, roll-up at 50 and 500 schools and a province of 100 × 200.
Smoke run: ``make bench ARGS="--schools 50 --users 10 --seconds 5 --surge-spawn-seconds 5
--rollup-scales 20,50 --province-districts 2 --province-schools 50"``.

Measured:
1. the framework ceiling — requests/s of an authenticated trivial endpoint (/api/v1/me);
2. each page at 50 concurrent users — plan tracking, completion, round progress, the district
   dashboard (roll-up compiled once through its job), the calibration view (a round in
   calibrating) and the assessor's per-indicator scoring save (each user on its own open sheet):
   latency with think time (p50/p95/p99, errors) and throughput without think time, as a
   fraction of (1);
3. the roll-up floor (one hand-written SQL query, tests/perf/rollup_bench.py) against the roll-up
   job's collection and the whole job (Excel + PDF) at 50, 500 and a province of schools;
4. SQL statements per page at 10, 100 and 500 schools (must be equal);
5. a deadline surge: 200 schools upload evidence and submit within a minute; afterwards every
   submission and its dossier job must exist.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.perf.pages import calibration_url, page_urls, score_save  # noqa: E402
PY = ROOT / ".venv" / "bin" / "python"
BIN = ROOT / ".venv" / "bin"
OUT = ROOT / "tests" / "perf"
DB = os.environ.get("BENCH_DB", "jianjia_bench")
PG = os.environ.get("BENCH_PG", "127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
PORT = int(os.environ.get("BENCH_PORT", "8077"))
WORK = Path(os.environ.get("BENCH_WORK", "/tmp/jianjia-bench"))
PASSWORD = "Jianjia-2026"
TARGET_P50, TARGET_P95, TARGET_SHARE = 50, 150, 0.5
TARGET_FLOOR_RATIO, TARGET_PROVINCE_SECONDS = 1.5, 120
ASSESSING, CALIBRATING = "bench001", "cal001"
SIZES = {"10": ("q10x001", "q10c001"), "100": ("q100x001", "q100c001")}

# A minimal valid one-page PDF (the upload checks read the content, not the name).
EVIDENCE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
                b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def env(**extra) -> dict:
    base = {**os.environ, "DATABASE_URL": f"postgresql://jianjia_app@{PG}/{DB}",
            "MIGRATION_DATABASE_URL": f"postgresql://jianjia_owner@{PG}/{DB}", "REDIS_URL": REDIS,
            "INSTANCE_PATH": str(WORK / "instance"), "SECRET_KEY": "bench-" + "x" * 40, "FLASK_APP": "app"}
    base.update(extra)
    return base


def sh(*cmd, **kw) -> str:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=kw.pop("environ", env()), text=True,
                            capture_output=True, **kw)
    if result.returncode:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- data

def build_data(args) -> dict:
    """Generate every district of the run; returns the seconds each generation took."""
    log(f"database {DB}: recreate, migrate, generate")
    sh("bash", "scripts/pg_setup.sh", DB, "--recreate")
    sh("bash", "-c", f"redis-cli -u {REDIS} flushdb >/dev/null")
    sh(BIN / "flask", "db", "upgrade")
    seconds = {}

    def generate(label, *options):
        started = time.perf_counter()
        sh(BIN / "flask", "demo", "generate", *options)
        seconds[label] = time.perf_counter() - started
        log(f"generated {label} in {seconds[label]:.1f}s")

    generate(f"bench001: {args.schools} schools, assessing, 200 applicants", "--schools", args.schools,
             "--prefix", "bench", "--applicants", min(200, args.schools))
    generate(f"cal001: {args.schools} schools, calibrating", "--schools", args.schools, "--prefix", "cal",
             "--stage", "calibrating")
    for size in (10, 100):
        generate(f"q{size}x001: {size} schools, assessing", "--schools", size, "--prefix", f"q{size}x")
        generate(f"q{size}c001: {size} schools, calibrating", "--schools", size, "--prefix", f"q{size}c",
                 "--stage", "calibrating")
    for size in args.rollup_scales:
        generate(f"rs{size}x001: {size} schools, no round", "--schools", size, "--prefix", f"rs{size}x", "--no-round")
    if args.province_districts:
        generate(f"prov001–prov{args.province_districts:03d}: {args.province_districts} × {args.province_schools} "
                 f"schools, no round", "--districts", args.province_districts, "--schools", args.province_schools,
                 "--prefix", "prov", "--no-round")
    # This machine's PostgreSQL runs with autovacuum off, so nothing would ever gather planner
    # statistics for the bulk-loaded tables: without them a join of two tenant tables is planned
    # as a nested loop over estimated single rows (plan tracking 130 ms instead of 20 ms at 500
    # schools). Vacuum and analyze once, as autovacuum would in production.
    host, _, port = PG.partition(":")
    sh("psql", "-h", host, "-p", port or "5432", "-U", "postgres", "-d", DB, "-qc", "VACUUM ANALYZE")
    log("vacuumed and analyzed")
    return seconds


def targets(users: int) -> dict:
    """URLs and logins of the generated data, read in-process with the app."""
    code = r'''
import json, sys
from sqlalchemy import select
from app import create_app
from app.extensions import db
from app.rounds import services as rounds_services
from app.rounds.models import Application, Round
from tests.perf.pages import compile_rollup, open_sheets
from tenants.models import District, School
from tenants.scope import Scope, tenant_scope
app = create_app()
wanted, users = json.loads(sys.argv[1]), int(sys.argv[2])
out = {}
with app.app_context():
    with tenant_scope(Scope.system("bench: list the generated districts")):
        districts = {d.slug: d.id for d in db.session.scalars(select(District)) if d.slug in wanted}
    for slug, district_id in districts.items():
        with tenant_scope(Scope.district(district_id)):
            rounds = {r.kind: r for r in db.session.scalars(select(Round))}
            schools = {s.id: s.code for s in db.session.scalars(select(School))}
            title = rounds.get("title")
            applicants = [] if title is None else [
                {"school": a.school_id, "code": schools[a.school_id], "round": title.id}
                for a in db.session.scalars(select(Application).where(Application.round_id == title.id)
                                            .order_by(Application.school_id))]
            indicator = None
            if title is not None:
                parts = rounds_services.rubric_parts(title.rubric_id)
                indicator = next(i.id for i in parts.indicators if not rounds_services.is_provided(i))
            annual = rounds["annual_review"]
            out[slug] = {"id": district_id, "indicator": indicator, "year": annual.year,
                         "annual_round": annual.id, "status": annual.status, "applicants": applicants,
                         "school_codes": schools,
                         "open_sheets": open_sheets(annual, limit=users) if annual.status == "assessing" else []}
        if out[slug]["status"] == "assessing":  # the dashboard opens from the compiled roll-up
            out[slug]["rollup"] = compile_rollup(district_id, out[slug]["year"])
print(json.dumps(out))
'''
    wanted = [ASSESSING, CALIBRATING] + [slug for pair in SIZES.values() for slug in pair]
    data = json.loads(sh(PY, "-c", code, json.dumps(wanted), users).strip().splitlines()[-1])
    for slug in wanted:
        if data[slug]["status"] == "assessing" and data[slug].get("rollup") != "done":
            raise SystemExit(f"the roll-up of {slug} did not compile: {data[slug].get('rollup')}")
    return data


# --------------------------------------------------------------------------- pages

def scenarios(data: dict, users: int) -> dict:
    slug = ASSESSING
    info = data[slug]
    pages = page_urls(slug, info)
    admin = [f"{slug}_admin", f"{slug}_staff1", f"{slug}_staff2"]
    out = {"ceiling": {"kind": "get", "urls": ["/api/v1/me"], "logins": admin}}
    for name, url in pages.items():
        out[name] = {"kind": "get", "urls": [url], "logins": admin}
    out["calibration"] = {"kind": "get", "urls": [calibration_url(CALIBRATING, data[CALIBRATING])],
                          "logins": [f"{CALIBRATING}_admin", f"{CALIBRATING}_staff1", f"{CALIBRATING}_staff2"]}
    # Each user saves on its own open sheet (as its assessor): user n ↔ session n ↔ post n.
    posts = [score_save(slug, sheet) for sheet in info["open_sheets"][:users]]
    out["score_save"] = {"kind": "post", "posts": posts, "logins": [p["login"] for p in posts], "needs_csrf": True,
                         "csrf_page": [p["page"] for p in posts], "sessions_count": len(posts)}
    codes = {int(k): v for k, v in info["school_codes"].items()}
    surge = []
    for a in info["applicants"]:
        n = int(codes[a["school"]][1:])  # S0001 → the generated chair bench001_c1
        base = f"/d/{slug}/s/{a['school']}/rounds/{a['round']}"
        surge.append({"login": f"{slug}_c{n}", "page": f"{base}/", "submit": f"{base}/submit",
                      "upload": f"{base}/indicators/{info['indicator']}/evidence"})
    out["surge"] = {"kind": "surge", "schools": surge, "logins": [s["login"] for s in surge]}
    return out


def wait_http(url: str, seconds: int = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {seconds}s")


class Servers:
    """gunicorn (web) and an RQ worker, as the Procfile runs them."""

    def __init__(self, workers: int, threads: int, keep_alive: int = 10, worker_class: str = "gthread"):
        self.workers, self.threads, self.keep_alive, self.procs = workers, threads, keep_alive, []
        self.worker_class = worker_class

    def __enter__(self):
        WORK.mkdir(parents=True, exist_ok=True)
        web_log = open(WORK / "gunicorn.log", "w")
        self.procs.append(subprocess.Popen(
            [BIN / "gunicorn", "-c", "python:app.gunicorn_conf", "--workers", str(self.workers), "--threads",
             str(self.threads), "--worker-class", self.worker_class, "--keep-alive", str(self.keep_alive), "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning",
             "app:create_app()"],
            cwd=ROOT, env=env(), stdout=web_log, stderr=subprocess.STDOUT, start_new_session=True))
        self.procs.append(subprocess.Popen(
            [BIN / "rq", "worker", "--url", REDIS, "--serializer", "json", "default", "reports", "mail"],
            cwd=ROOT, env=env(), stdout=open(WORK / "worker.log", "w"), stderr=subprocess.STDOUT,
            start_new_session=True))
        wait_http(f"http://127.0.0.1:{PORT}/login")
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            proc.wait(timeout=30)


def settle(limit: int = 900) -> float:
    """Wait until the server is idle again (requests a run left in flight have finished): three
    answers of the login page in under 0.3 s in a row. Returns the seconds waited."""
    started, fast = time.perf_counter(), 0
    while fast < 3 and time.perf_counter() - started < limit:
        t = time.perf_counter()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/login", timeout=limit)
        except Exception:
            time.sleep(1)
            continue
        fast = fast + 1 if time.perf_counter() - t < 0.3 else 0
        time.sleep(0.2)
    return time.perf_counter() - started


def open_sessions(logins: list[str], count: int) -> list[dict]:
    """Log in ``count`` sessions (round robin over ``logins``) before a run, so the measured runs do
    not include argon2 hashing; locust users start with these cookies."""
    import re

    import requests

    out = []
    for n in range(count):
        session = requests.Session()
        page = session.get(f"http://127.0.0.1:{PORT}/login", timeout=30).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = session.post(f"http://127.0.0.1:{PORT}/login", allow_redirects=False, timeout=30,
                                data={"csrf_token": token, "username": logins[n % len(logins)], "password": PASSWORD})
        if response.status_code != 302:
            raise SystemExit(f"login of {logins[n % len(logins)]} failed: {response.status_code}")
        # Login starts a fresh session; the first page after it puts the CSRF secret (and the
        # consumed flash) into the cookie, so the cookie handed to locust carries the secret the
        # tokens on its pages are checked against.
        session.get(f"http://127.0.0.1:{PORT}/", timeout=30)
        out.append(session.cookies.get_dict())
    return out


def locust(scenario: str, targets_file: Path, users: int, seconds: int, wait: float, spawn_rate: float | None = None,
           label: str | None = None) -> dict:
    prefix = WORK / f"locust-{scenario}-{label or ('think' if wait else 'max')}"
    cmd = [BIN / "locust", "-f", OUT / "locustfile.py", "--headless", "-u", users, "-r", spawn_rate or users,
           "-t", f"{seconds}s", "--host", f"http://127.0.0.1:{PORT}", "--csv", prefix, "--only-summary",
           "--loglevel", "WARNING", "--stop-timeout", "10"]
    done = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "BENCH_SCENARIO": scenario, "BENCH_TARGETS": str(targets_file),
                               "BENCH_WAIT": str(wait)})
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust {scenario} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    rows = {row["Name"]: row for row in csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8"))}
    return {name: {"count": int(r["Request Count"]), "errors": int(r["Failure Count"]),
                   "p50": float(r["50%"]), "p95": float(r["95%"]), "p99": float(r["99%"]),
                   "rps": float(r["Requests/s"])} for name, r in rows.items()}


# --------------------------------------------------------------------------- query counts

QUERY_COUNT_CODE = r'''
import json, re, sys
from sqlalchemy import event
from app import create_app
from app.extensions import db
app = create_app()
specs = json.loads(sys.argv[1])
out, clients = {}, {}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')
def client_of(login):
    if login not in clients:
        client = app.test_client()
        match = CSRF.search(client.get("/login").get_data(as_text=True))
        token = match.group(1) or match.group(2)
        response = client.post("/login", data={"csrf_token": token, "username": login, "password": "%s"})
        assert response.status_code == 302, (login, response.status_code)
        clients[login] = client
    return clients[login]
with app.app_context():
    engine = db.engine
for name, by_size in specs.items():
    for size, spec in by_size.items():
        client = client_of(spec["login"])
        if spec["method"] == "post":
            match = CSRF.search(client.get(spec["csrf_page"]).get_data(as_text=True))
            form = {**spec["data"], "csrf_token": match.group(1) or match.group(2)}
            call = lambda: client.post(spec["url"], data=form, headers={"HX-Request": "true"})
        else:
            call = lambda: client.get(spec["url"])
        call()  # warm caches of the first request
        statements = []
        def before(conn, cursor, statement, *args):
            statements.append(statement)
        event.listen(engine, "before_cursor_execute", before)
        status = call().status_code
        event.remove(engine, "before_cursor_execute", before)
        out.setdefault(name, {})[size] = {"queries": len(statements), "status": status}
print(json.dumps(out))
''' % PASSWORD


def query_count_specs(data: dict, schools: int) -> dict:
    """{page: {size: {"login", "method", "url", …}}} for 10, 100 and the benchmark's schools."""
    sizes = {**SIZES, str(schools): (ASSESSING, CALIBRATING)}
    out: dict = {}
    for size, (assessing, calibrating) in sizes.items():
        info = data[assessing]
        for name, url in page_urls(assessing, info).items():
            out.setdefault(name, {})[size] = {"login": f"{assessing}_admin", "method": "get", "url": url}
        out.setdefault("calibration", {})[size] = {"login": f"{calibrating}_admin", "method": "get",
                                                   "url": calibration_url(calibrating, data[calibrating])}
        save = score_save(assessing, info["open_sheets"][0])
        out.setdefault("score_save", {})[size] = {"login": save["login"], "method": "post", "url": save["url"],
                                                  "data": save["data"], "csrf_page": save["page"]}
    return out


def query_counts(data: dict, schools: int) -> dict:
    specs = query_count_specs(data, schools)
    return json.loads(sh(PY, "-c", QUERY_COUNT_CODE, json.dumps(specs)).strip().splitlines()[-1])


# --------------------------------------------------------------------------- roll-up

def rollup_measure(args, year: int) -> dict:
    sets = {str(size): [f"rs{size}x001"] for size in args.rollup_scales}
    sets[f"{args.schools} (bench001, with rounds)"] = [ASSESSING]
    if args.province_districts:
        sets[str(args.province_districts * args.province_schools)] = [
            f"prov{n:03d}" for n in range(1, args.province_districts + 1)]
    return json.loads(sh(PY, OUT / "rollup_bench.py", json.dumps({"year": year, "warm": SIZES["10"][0],
                                                                  "sets": sets})).strip().splitlines()[-1])


# --------------------------------------------------------------------------- surge

SURGE_CHECK = r'''
import json, sys
from sqlalchemy import func, select
from app import create_app
from app.extensions import db
from app.jobs.models import JobRun
from app.rounds.models import Application, ApplicationSnapshot, Evidence, Round
from tenants.scope import Scope, tenant_scope
app = create_app()
district_id = int(sys.argv[1])
with app.app_context(), tenant_scope(Scope.district(district_id)):
    title = db.session.scalar(select(Round).where(Round.kind == "title"))
    apps = select(Application.id).where(Application.round_id == title.id)
    count = lambda q: db.session.scalar(q)
    out = {
        "applications": count(select(func.count()).select_from(Application).where(Application.round_id == title.id)),
        "submitted": count(select(func.count()).select_from(Application).where(
            Application.round_id == title.id, Application.status == "submitted")),
        "snapshots": count(select(func.count()).select_from(ApplicationSnapshot).where(
            ApplicationSnapshot.application_id.in_(apps))),
        "evidence": count(select(func.count()).select_from(Evidence).where(Evidence.application_id.in_(apps))),
        "jobs": dict(db.session.execute(select(JobRun.status, func.count()).where(
            JobRun.kind == "application_dossier").group_by(JobRun.status)).all()),
        "duplicate_jobs": count(select(func.count()).select_from(
            select(JobRun.dedupe_key).where(JobRun.kind == "application_dossier").group_by(JobRun.dedupe_key)
            .having(func.count() > 1).subquery())),
    }
print(json.dumps(out))
'''


def surge_check(district_id: int) -> dict:
    return json.loads(sh(PY, "-c", SURGE_CHECK, district_id).strip().splitlines()[-1])


# --------------------------------------------------------------------------- report

def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) // 1024 // 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    versions = {
        "Python": platform.python_version(),
        "PostgreSQL": sh("psql", "-h", PG.split(":")[0], "-U", "postgres", "-Atc", "show server_version").strip(),
        "Redis": sh("redis-server", "--version").split()[2].replace("v=", ""),
        "gunicorn": sh(BIN / "gunicorn", "--version").strip().split()[-1].strip("()"),
        "locust": sh(BIN / "locust", "--version").split()[1],
    }
    return [f"- Machine: {cpu}, {os.cpu_count()} cores, {mem} GiB RAM, {platform.platform()}",
            "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())]


def ms(value: float) -> str:
    return f"{value:.0f}"


def warm_cell(warm: dict | None) -> str:
    """The unmeasured warm-up run before a page's runs (the cold start: connections, caches)."""
    return "–" if not warm else f"{ms(warm['p50'])} / {ms(warm['p99'])} ({warm['errors']} errors)"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def write_results(args, data, gen_seconds, ceiling, pages, counts, surge, surge_stats, rollup, elapsed) -> None:
    verdicts = []  # (target, met?) for the summary
    lines = ["# Benchmark results (issue 7)", "",
             f"Run {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `make bench` "
             f"(tests/perf/bench.py {' '.join(sys.argv[1:])}), {elapsed / 60:.1f} minutes in all.", ""]
    lines += machine()
    lines += [f"- Data: district bench001 with {args.schools} schools (a plan per school with ~20 scheduled "
              f"activities, activity records, a 60-indicator rubric, an assessing 年度考评 with every self-assessment "
              f"submitted and 3–7 assessors per school, nine in ten sheets submitted, an open 先进职工之家 round with "
              f"{min(200, args.schools)} filled applications); district cal001 with {args.schools} schools whose 年度考评 "
              f"is in calibrating (every sheet submitted); districts of 10 and 100 schools in both stages for the "
              f"query counts; districts without rounds for the roll-up (section 3).",
              f"- Server: gunicorn {args.workers} workers × {args.threads} threads ({args.worker_class}, keep-alive "
              f"{args.keep_alive} s, app/gunicorn_conf.py) + 1 RQ worker, "
              f"PostgreSQL as the non-owner app role (RLS on), Redis; load from locust in a second process on the "
              f"same machine, {args.users} users, {args.seconds} s per run.",
              "- Latency runs: each user waits 0.5–1.5 s between requests (an office user clicking). Throughput runs: "
              "no wait, as fast as the server answers; the share is that throughput over the ceiling's. Requests: "
              "completed in the latency + throughput runs. Before each run the harness waits until the server is "
              f"idle again. Before each page's runs, {args.warmup_seconds} s of unmeasured load without wait (every "
              "worker process opens its connections and fills its caches); its p50 / p99 are shown as the warm-up "
              "(cold start).", ""]
    if gen_seconds:
        lines += ["## Data generation (`flask demo generate`)", "", "| districts | seconds |", "|---|---:|"]
        lines += [f"| {label} | {sec:.1f} |" for label, sec in gen_seconds.items()]
        bench_gen = next((sec for label, sec in gen_seconds.items() if label.startswith("bench001")), None)
        if bench_gen is not None and args.schools >= 500:
            verdicts.append((f"a {args.schools}-school district generated in under a minute ({bench_gen:.0f} s)",
                             bench_gen < 60))
        lines.append("")
    lines += ["## 1–2. Ceiling and pages", "",
              f"Targets: p50 ≤ {TARGET_P50} ms, p95 ≤ {TARGET_P95} ms (latency run), 0 errors, throughput ≥ "
              f"{TARGET_SHARE:.0%} of the ceiling.", "",
              "| page | users | requests | p50 ms | p95 ms | p99 ms | errors | req/s (think) | req/s (max) | share of ceiling | "
              "warm-up p50 / p99 ms | target |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    ceiling_rps = ceiling["max"]["rps"]
    for name, result in [("ceiling (/api/v1/me)", ceiling)] + list(pages.items()):
        think, top = result["think"], result["max"]
        share = top["rps"] / ceiling_rps if ceiling_rps else 0
        misses = []
        if not think["count"] or not top["count"]:
            misses.append("no request completed within the run")
        if think["p50"] > TARGET_P50:
            misses.append("p50")
        if think["p95"] > TARGET_P95:
            misses.append("p95")
        if think["errors"] or top["errors"]:
            misses.append("errors")
        if share < TARGET_SHARE and not name.startswith("ceiling"):
            misses.append("share")
        if not name.startswith("ceiling"):
            verdicts.append((f"{name}: p50/p95/errors/share", not misses))
        lines.append(f"| {name} | {result.get('users', args.users)} | {think['count']} + {top['count']} | "
                     f"{ms(think['p50'])} | {ms(think['p95'])} | "
                     f"{ms(think['p99'])} | {think['errors'] + top['errors']} | {think['rps']:.1f} | {top['rps']:.1f} | "
                     f"{share:.0%} | {warm_cell(result.get('warm'))} | "
                     f"{'met' if not misses else 'MISSED: ' + ', '.join(misses)} |")
    lines += ["", "score_save is the assessor's per-indicator htmx save (POST "
              "/d/<district>/assess/<sheet>/indicators/<indicator>), each user on its own open sheet; "
              "district_dashboard is the roll-up page opened from its compiled figures; calibration is "
              "/d/cal001/results/<round>/ in calibrating.", ""]
    lines += ["## 3. Roll-up against its floor", "",
              "Floor: one hand-written SQL query (tests/perf/rollup_bench.py, FLOOR_SQL) computing the same per-school "
              "figures and district (and per-kind) counts, rates, completion average and bands for this year and the "
              "last, for all districts of the row at once, fetched into Python; best of 3. Compute: the roll-up job's "
              "collection (`app.rollup.data.collect`) in each district's scope, summed over the districts (app/rollup "
              "has no city-level roll-up, so a province is its districts one after another). Total: the roll-up job "
              "itself (collect, Excel 汇总表, PDF report, stored artifacts) run to the end in process. The province "
              "is generated without rounds (`--no-round`: plans, schedules and activity records only), like the "
              "50/500 rows, so the rows grow in schools only; the bench001 row is the same size with rounds and "
              "applications.", "",
              f"Targets: compute ≤ {TARGET_FLOOR_RATIO} × floor at 500 schools, growth linear in schools, compute "
              f"≤ {TARGET_PROVINCE_SECONDS} s for the province (the total with Excel and PDF is shown beside).", "",
              "| schools | districts | floor s | compute s | compute / floor | total s | total / floor | "
              "compute ms per school | target |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    per_school = {}
    for label, row in rollup.items():
        ratio = row["compute_s"] / row["floor_s"] if row["floor_s"] else 0
        total_ok = row["job_statuses"] == ["done"]
        per_school[label] = row["compute_s"] / max(1, row["schools"]) * 1000
        verdict = ""
        if row["schools"] == 500:
            ok = ratio <= TARGET_FLOOR_RATIO
            verdicts.append((f"roll-up compute ≤ {TARGET_FLOOR_RATIO} × floor at 500 schools ({label})", ok))
            verdict = f"{_verdict(ok)} (≤ {TARGET_FLOOR_RATIO} ×)"
        elif row["districts"] > 1:
            ok = row["compute_s"] <= TARGET_PROVINCE_SECONDS
            verdicts.append((f"province roll-up compute ≤ {TARGET_PROVINCE_SECONDS} s ({row['schools']} schools: "
                             f"{row['compute_s']:.1f} s; with Excel + PDF {row['total_s']:.0f} s)", ok))
            verdict = f"{_verdict(ok)} (compute ≤ {TARGET_PROVINCE_SECONDS} s)"
        total = f"{row['total_s']:.2f}" if total_ok else f"not measured ({'/'.join(row['job_statuses'])})"
        lines.append(f"| {label} | {row['districts']} | {row['floor_s']:.3f} | {row['compute_s']:.3f} | {ratio:.2f} | "
                     f"{total} | {row['total_s'] / row['floor_s'] if total_ok and row['floor_s'] else 0:.1f} | "
                     f"{per_school[label]:.3f} | {verdict} |")
    mismatches = [m for row in rollup.values() for m in row.get("floor_mismatches", [])]
    verdicts.append(("roll-up floor computes the same district figures as collect", not mismatches))
    lines += ["", "Floor checked against collect (first 3 districts of each row, both years: schools, filed, on "
              "time, approved, completion average and bands, applications, titles, year summaries): "
              + ("equal." if not mismatches else "DIFFERENT: " + "; ".join(mismatches[:10]))]
    plain = sorted((row["schools"], label) for label, row in rollup.items() if "bench001" not in label)
    if len(plain) >= 2:
        (small_n, small), (big_n, big) = plain[-2], plain[-1]  # the two largest: fixed costs weigh least
        growth = rollup[big]["compute_s"] / rollup[small]["compute_s"] if rollup[small]["compute_s"] else 0
        linear = per_school[big] <= per_school[small] * 1.5
        verdicts.append(("roll-up compute linear in schools", linear))
        lines += ["", f"Growth: {small_n} → {big_n} schools ({big_n / small_n:.0f}× the schools) took {growth:.1f}× the "
                  f"compute time; per school {per_school[small]:.3f} → {per_school[big]:.3f} ms "
                  f"({_verdict(linear)}: linear means the per-school time does not grow, allowed 1.5×). Per school at every "
                  f"size: " + ", ".join(f"{n}: {per_school[label]:.3f} ms" for n, label in plain) + "."]
    size_keys = list(SIZES) + [str(args.schools)]
    lines += ["", f"## 4. SQL statements per page", "",
              "| page | " + " | ".join(f"{k} schools" for k in size_keys) + " | equal |",
              "|---|" + "---:|" * len(size_keys) + "---|"]
    for name, by_size in counts.items():
        values = [by_size[k]["queries"] for k in size_keys]
        statuses = {by_size[k]["status"] for k in size_keys}
        equal = len(set(values)) == 1 and statuses == {200}
        verdicts.append((f"constant queries: {name}", equal))
        lines.append(f"| {name} | " + " | ".join(map(str, values)) + f" | {'yes' if equal else 'NO'}"
                     + ("" if statuses == {200} else f" (HTTP {sorted(statuses)})") + " |")
    jobs = surge["jobs"]
    surge_total = len(data[ASSESSING]["applicants"])
    lines += ["", "## 5. Deadline surge", "",
              f"{surge_total} chairs each open their application, upload one PDF and submit, spawned over "
              f"{args.surge_spawn_seconds} s.", "",
              "| step | requests | errors | p50 ms | p95 ms |", "|---|---:|---:|---:|---:|"]
    errors = 0
    for name, stats in surge_stats.items():
        if name.startswith("surge") or name == "Aggregated":
            lines.append(f"| {name} | {stats['count']} | {stats['errors']} | {ms(stats['p50'])} | {ms(stats['p95'])} |")
            errors += stats["errors"] if name != "Aggregated" else 0
    lost = surge_total - min(surge["submitted"], surge["snapshots"], sum(jobs.values()))
    all_done = jobs.get("done", 0) == sum(jobs.values()) == surge_total
    verdicts.append(("surge: 0 errors", errors == 0))
    verdicts.append(("surge: 0 lost submissions (each submitted, with its snapshot and its dossier job)", lost == 0))
    verdicts.append((f"surge: every dossier job done once (one RQ worker; {surge['drain_s']:.0f} s after the "
                     f"surge)", all_done and not surge["duplicate_jobs"]))
    lines += ["", f"Afterwards: {surge['submitted']} of {surge['applications']} applications submitted, "
              f"{surge['snapshots']} snapshots, {surge['evidence']} evidence files, dossier jobs by status {jobs} "
              f"{surge['drain_s']:.0f} s after the surge ended (one RQ worker compiling them one by one), "
              f"{surge['duplicate_jobs']} duplicate job keys; lost (a submission without its snapshot or its "
              f"dossier job): {lost}.", ""]
    fixes = OUT / "PROFILES.md"  # hand-written: profiles of missed targets, fixes with before/after
    if fixes.exists():
        lines += [fixes.read_text(encoding="utf-8").strip(), ""]
    lines += ["## Targets", "", "| target | result |", "|---|---|"]
    lines += [f"| {target} | {_verdict(ok)} |" for target, ok in verdicts]
    (OUT / "RESULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    log(f"wrote {OUT / 'RESULTS.md'}")


def log_in(plan: dict, names: list[str], users: int) -> None:
    """Open each scenario's sessions before its runs (a login set shared by scenarios is opened once)."""
    opened: dict = {}
    for name in names:
        scenario = plan[name]
        count = len(scenario["logins"]) if name == "surge" else scenario.get("sessions_count", users)
        key = (tuple(scenario["logins"]), count)
        if key not in opened:
            log(f"{name}: logging in {count} sessions")
            opened[key] = open_sessions(scenario["logins"], count)
        scenario["sessions"] = opened[key]


def write_targets(plan: dict, targets_file: Path) -> None:
    targets_file.write_text(json.dumps({"password": PASSWORD, "scenarios": plan,
                                        "evidence_pdf": EVIDENCE_PDF.decode("latin-1")}), encoding="utf-8")


def run_pages(args, plan: dict, order: list[str], targets_file: Path) -> dict:
    results = {}
    for name in order:
        users = plan[name].get("sessions_count", args.users)
        log(f"{name}: warm-up, latency run (think time), then throughput run, {users} users")
        settle()
        # Unmeasured warm-up: every gunicorn worker opens its connections and fills its caches
        # (the calibration of a round is computed once per process); its figures are reported
        # on their own, as the cost of a cold start.
        warm = locust(name, targets_file, users, args.warmup_seconds, wait=0, label="warmup") \
            if args.warmup_seconds else None
        settle()
        think = locust(name, targets_file, users, args.seconds, wait=1.0)
        settle()
        top = locust(name, targets_file, users, args.seconds, wait=0)
        results[name] = {"think": think.get(name, think["Aggregated"]), "max": top.get(name, top["Aggregated"]),
                         "warm": warm.get(name, warm["Aggregated"]) if warm else None, "users": users}
        log(f"{name}: p50 {think['Aggregated']['p50']:.0f} p95 {think['Aggregated']['p95']:.0f} ms, "
            f"{top['Aggregated']['rps']:.1f} req/s max")
    return results


def quick_pages(args) -> None:
    """``--pages``: the ceiling and the named pages only, for trying a change (RESULTS.md untouched)."""
    data = targets(args.users)
    plan = scenarios(data, args.users)
    unknown = set(args.pages) - set(plan)
    if unknown:
        raise SystemExit(f"unknown pages {sorted(unknown)}; known: {sorted(set(plan) - {'surge'})}")
    order = ["ceiling"] + [n for n in args.pages if n != "ceiling"]
    targets_file = WORK / "targets.json"
    with Servers(args.workers, args.threads, args.keep_alive, args.worker_class):
        log_in(plan, order, args.users)
        write_targets(plan, targets_file)
        results = run_pages(args, plan, order, targets_file)
    ceiling = results["ceiling"]["max"]["rps"]
    print("| page | p50 | p95 | p99 | errors | req/s think | req/s max | share |")
    for name, r in results.items():
        t, m = r["think"], r["max"]
        print(f"| {name} | {t['p50']:.0f} | {t['p95']:.0f} | {t['p99']:.0f} | {t['errors'] + m['errors']} | "
              f"{t['rps']:.1f} | {m['rps']:.1f} | {m['rps'] / ceiling:.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--keep-alive", type=int, default=10,
                        help="gunicorn's keep-alive seconds (its default of 2 closes a client's idle connection "
                             "while a saturated worker has not yet read the next request on it: resets)")
    parser.add_argument("--surge-spawn-seconds", type=int, default=60)
    parser.add_argument("--warmup-seconds", type=int, default=10, help="unmeasured load before each page's runs")
    parser.add_argument("--drain-seconds", type=int, default=900,
                        help="how long to wait for the worker to compile the surge's dossiers")
    parser.add_argument("--rollup-scales", type=lambda v: [int(x) for x in v.split(",") if x], default=[50, 500],
                        help="district sizes of the roll-up measurement (comma separated)")
    parser.add_argument("--province-districts", type=int, default=100, help="0: no province roll-up")
    parser.add_argument("--province-schools", type=int, default=200)
    parser.add_argument("--reuse-data", action="store_true", help="keep the database of the last run")
    parser.add_argument("--pages", type=lambda v: [x for x in v.split(",") if x], default=None,
                        help="quick run: only the ceiling and these pages (comma separated), no roll-up, query "
                             "counts or surge; prints the table and leaves RESULTS.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    gen_seconds = {} if args.reuse_data else build_data(args)
    year = date.today().year  # the generator's default year
    if args.pages:
        return quick_pages(args)
    log("roll-up: floor, collection and job at " + ", ".join(map(str, args.rollup_scales))
        + (f", {args.province_districts * args.province_schools}" if args.province_districts else "") + " schools")
    rollup = rollup_measure(args, year)
    data = targets(args.users)
    plan = scenarios(data, args.users)
    targets_file = WORK / "targets.json"
    log(f"query counts at 10 / 100 / {args.schools} schools")
    counts = query_counts(data, args.schools)
    with Servers(args.workers, args.threads, args.keep_alive, args.worker_class):
        log_in(plan, list(plan), args.users)
        write_targets(plan, targets_file)
        # The slowest page last, and the server idle again before each run, so that requests one
        # run left in flight do not weigh on the next.
        order = ["ceiling"] + [n for n in plan if n not in ("ceiling", "surge", "calibration")] + ["calibration"]
        results = run_pages(args, plan, order, targets_file)
        ceiling = results.pop("ceiling")
        waited = settle()
        log(f"server idle again after {waited:.0f} s")
        surge_users = len(plan["surge"]["schools"])
        log(f"surge: {surge_users} submissions")
        surge_stats = locust("surge", targets_file, surge_users, args.surge_spawn_seconds + 30, wait=0,
                             spawn_rate=surge_users / args.surge_spawn_seconds)
        surge_ended = time.time()
        while True:  # let the worker compile the queued dossiers
            surge = surge_check(data[ASSESSING]["id"])
            surge["drain_s"] = time.time() - surge_ended
            if set(surge["jobs"]) <= {"done", "failed"} or surge["drain_s"] > args.drain_seconds:
                break
            time.sleep(3)
    write_results(args, data, gen_seconds, ceiling, results, counts, surge, surge_stats, rollup,
                  time.perf_counter() - started)


if __name__ == "__main__":
    main()
