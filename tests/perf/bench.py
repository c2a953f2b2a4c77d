"""The benchmark harness (issue 7): ``make bench`` (or ``.venv/bin/python tests/perf/bench.py``).

One run, side by side on this machine: it builds a PostgreSQL database of synthetic data
(``flask demo generate``), starts the app under gunicorn with Redis and an RQ worker, drives it
with locust from a second process, and writes tests/perf/RESULTS.md. Not part of the normal test
run (pytest does not collect this folder's scripts); tests/test_perf_light.py keeps a small
version of the query-count and page measurements in CI.

Measured:
1. the framework ceiling — requests/s of an authenticated trivial endpoint (/api/v1/me);
2. each page at 50 concurrent users: latency with think time (p50/p95/p99, errors) and
   throughput without think time, as a fraction of (1);
3. (roll-up floor vs the roll-up job — when the roll-up exists, see ROLLUP below);
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
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.perf.pages import page_urls  # noqa: E402
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

def build_data(schools: int) -> None:
    log(f"database {DB}: recreate, migrate, generate")
    sh("bash", "scripts/pg_setup.sh", DB, "--recreate")
    sh("bash", "-c", f"redis-cli -u {REDIS} flushdb >/dev/null")
    sh(BIN / "flask", "db", "upgrade")
    started = time.perf_counter()
    sh(BIN / "flask", "demo", "generate", "--schools", schools, "--prefix", "bench", "--applicants", 200)
    log(f"generated {schools} schools in {time.perf_counter() - started:.1f}s")
    for size in (10, 100):
        sh(BIN / "flask", "demo", "generate", "--schools", size, "--prefix", f"q{size}x", "--applicants", 0)


def targets(schools: int) -> dict:
    """URLs and logins of the generated data, read in-process with the app."""
    code = r'''
import json, sys
from sqlalchemy import select
from app import create_app
from app.extensions import db
from app.rounds import services as rounds_services
from app.rounds.models import Application, Round
from tenants.models import District, School
from tenants.scope import Scope, tenant_scope
app = create_app()
out = {}
with app.app_context():
    with tenant_scope(Scope.system("bench: list the generated districts")):
        districts = {d.slug: d.id for d in db.session.scalars(select(District))}
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
            out[slug] = {"id": district_id, "indicator": indicator, "year": rounds["annual_review"].year,
                         "annual_round": rounds["annual_review"].id, "applicants": applicants,
                         "school_codes": schools}
print(json.dumps(out))
'''
    data = json.loads(sh(PY, "-c", code).strip().splitlines()[-1])
    return data


# --------------------------------------------------------------------------- pages

def scenarios(data: dict) -> dict:
    slug = "bench001"
    info = data[slug]
    pages = page_urls(slug, info)
    admin = [f"{slug}_admin", f"{slug}_staff1", f"{slug}_staff2"]
    out = {"ceiling": {"kind": "get", "urls": ["/api/v1/me"], "logins": admin}}
    for name, url in pages.items():
        out[name] = {"kind": "get", "urls": [url], "logins": admin}
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

    def __init__(self, workers: int, threads: int):
        self.workers, self.threads, self.procs = workers, threads, []

    def __enter__(self):
        WORK.mkdir(parents=True, exist_ok=True)
        web_log = open(WORK / "gunicorn.log", "w")
        self.procs.append(subprocess.Popen(
            [BIN / "gunicorn", "--workers", str(self.workers), "--threads", str(self.threads), "--worker-class",
             "gthread", "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning", "app:create_app()"],
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
        out.append(session.cookies.get_dict())
    return out


def locust(scenario: str, targets_file: Path, users: int, seconds: int, wait: float, spawn_rate: float | None = None) -> dict:
    prefix = WORK / f"locust-{scenario}-{'think' if wait else 'max'}"
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
pages = json.loads(sys.argv[1])
out = {}
for slug, urls in pages.items():
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": slug + "_admin", "password": "%s"})
    assert response.status_code == 302, response.status_code
    for name, url in urls.items():
        client.get(url)  # warm caches of the first request
        statements = []
        def before(conn, cursor, statement, *args):
            statements.append(statement)
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        status = client.get(url).status_code
        event.remove(engine, "before_cursor_execute", before)
        out.setdefault(name, {})[slug] = {"queries": len(statements), "status": status}
print(json.dumps(out))
''' % PASSWORD


def query_counts(data: dict) -> dict:
    pages = {slug: page_urls(slug, data[slug]) for slug in ("q10x001", "q100x001", "bench001")}
    return json.loads(sh(PY, "-c", QUERY_COUNT_CODE, json.dumps(pages)).strip().splitlines()[-1])


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


def write_results(args, data, gen_seconds, ceiling, pages, counts, surge, surge_stats, elapsed) -> None:
    lines = ["# Benchmark results (issue 7)", "",
             f"Run {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `make bench` "
             f"(tests/perf/bench.py), {elapsed / 60:.1f} minutes in all.", ""]
    lines += machine()
    lines += [f"- Data: district bench001 with {args.schools} schools (plans, ~20 scheduled activities each, activity "
              f"records, a 60-indicator rubric, an assessing 年度考评 with 500 submitted self-assessments, an open "
              f"先进职工之家 round with 200 filled applications); districts of 10 and 100 schools for query counts. "
              f"Generated in {gen_seconds:.1f} s.",
              f"- Server: gunicorn {args.workers} workers × {args.threads} threads (gthread) + 1 RQ worker, "
              f"PostgreSQL as the non-owner app role (RLS on), Redis; load from locust in a second process on the "
              f"same 2 cores, {args.users} users, {args.seconds} s per run.",
              "- Latency runs: each user waits 0.5–1.5 s between requests (an office user clicking). Throughput runs: "
              "no wait, as fast as the server answers; the share is that throughput over the ceiling's.", "",
              "## 1–2. Ceiling and pages", "",
              "| page | p50 ms | p95 ms | p99 ms | errors | req/s (think) | req/s (max) | share of ceiling | target |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    ceiling_rps = ceiling["max"]["rps"]
    for name, result in [("ceiling (/api/v1/me)", ceiling)] + list(pages.items()):
        think, top = result["think"], result["max"]
        share = top["rps"] / ceiling_rps if ceiling_rps else 0
        ok = think["p50"] <= TARGET_P50 and think["p95"] <= TARGET_P95 and think["errors"] == 0 and top["errors"] == 0 \
            and (share >= TARGET_SHARE or name.startswith("ceiling"))
        lines.append(f"| {name} | {ms(think['p50'])} | {ms(think['p95'])} | {ms(think['p99'])} | "
                     f"{think['errors'] + top['errors']} | {think['rps']:.1f} | {top['rps']:.1f} | {share:.0%} | "
                     f"{'met' if ok else 'MISSED'} |")
    lines += ["", "## 4. SQL statements per page", "", "| page | 10 schools | 100 schools | 500 schools | equal |",
              "|---|---:|---:|---:|---|"]
    for name, by_slug in counts.items():
        values = [by_slug[s]["queries"] for s in ("q10x001", "q100x001", "bench001")]
        lines.append(f"| {name} | " + " | ".join(map(str, values)) + f" | {'yes' if len(set(values)) == 1 else 'NO'} |")
    jobs = surge["jobs"]
    lines += ["", "## 5. Deadline surge", "",
              f"200 chairs each open their application, upload one PDF and submit, spawned over "
              f"{args.surge_spawn_seconds} s.", "",
              "| step | requests | errors | p50 ms | p95 ms |", "|---|---:|---:|---:|---:|"]
    for name, stats in surge_stats.items():
        if name.startswith("surge") or name == "Aggregated":
            lines.append(f"| {name} | {stats['count']} | {stats['errors']} | {ms(stats['p50'])} | {ms(stats['p95'])} |")
    lines += ["", f"Afterwards: {surge['submitted']} of {surge['applications']} applications submitted, "
              f"{surge['snapshots']} snapshots, {surge['evidence']} evidence files, dossier jobs by status {jobs}, "
              f"{surge['duplicate_jobs']} duplicate job keys.", ""]
    (OUT / "RESULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    log(f"wrote {OUT / 'RESULTS.md'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--surge-spawn-seconds", type=int, default=60)
    parser.add_argument("--reuse-data", action="store_true", help="keep the database of the last run")
    args = parser.parse_args()
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    gen_started = time.perf_counter()
    if not args.reuse_data:
        build_data(args.schools)
    gen_seconds = time.perf_counter() - gen_started
    data = targets(args.schools)
    plan = scenarios(data)
    targets_file = WORK / "targets.json"
    targets_file.write_text(json.dumps({"password": PASSWORD, "scenarios": plan,
                                        "evidence_pdf": EVIDENCE_PDF.decode("latin-1")}), encoding="utf-8")
    log("query counts at 10 / 100 / 500 schools")
    counts = query_counts(data)
    with Servers(args.workers, args.threads):
        log(f"logging in {args.users} district sessions and {len(plan['surge']['logins'])} chairs")
        district_sessions = open_sessions(plan["ceiling"]["logins"], args.users)
        for name, scenario in plan.items():
            scenario["sessions"] = district_sessions if name != "surge" else open_sessions(scenario["logins"],
                                                                                           len(scenario["logins"]))
        targets_file.write_text(json.dumps({"password": PASSWORD, "scenarios": plan,
                                            "evidence_pdf": EVIDENCE_PDF.decode("latin-1")}), encoding="utf-8")
        results = {}
        for name in ["ceiling"] + [n for n in plan if n not in ("ceiling", "surge")]:
            log(f"{name}: latency run (think time), then throughput run")
            think = locust(name, targets_file, args.users, args.seconds, wait=1.0)
            top = locust(name, targets_file, args.users, args.seconds, wait=0)
            results[name] = {"think": think.get(name, think["Aggregated"]), "max": top.get(name, top["Aggregated"])}
        ceiling = results.pop("ceiling")
        log("surge: 200 submissions")
        surge_stats = locust("surge", targets_file, 200, args.surge_spawn_seconds + 30, wait=0,
                             spawn_rate=200 / args.surge_spawn_seconds)
        deadline = time.time() + 180
        while time.time() < deadline:  # let the worker compile the queued dossiers
            surge = surge_check(data["bench001"]["id"])
            if set(surge["jobs"]) <= {"done", "failed"}:
                break
            time.sleep(3)
    write_results(args, data, gen_seconds, ceiling, results, counts, surge, surge_stats,
                  time.perf_counter() - started)


if __name__ == "__main__":
    main()
