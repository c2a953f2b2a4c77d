"""Measurement (3) of the benchmark: the roll-up against its floor. Run by bench.py in the
benchmark's environment (DATABASE_URL …): ``python tests/perf/rollup_bench.py '<json>'`` with
{"year": 2026, "sets": {"50": ["rs50x001"], "20000": ["prov001", …]}, "warm": "q10x001"};
prints one JSON line.

- floor: ONE hand-written SQL query (FLOOR_SQL) computing what app/rollup/data.collect computes —
  per school and year (this year and the last) the plan state, filed/on-time, planned and done
  activities, the year summary (工作总结), applications and titles, and per district and year (and per school kind) the
  counts, rates, completion average and completion bands — for all districts of the set at once,
  fetched into Python. Best of 3.
- compute: ``data.collect(year)`` in each district's scope (the roll-up job's collection step),
  summed over the districts of the set (there is no city-level roll-up in app/rollup: a province
  is its districts one after another). Best of 3 (once for sets over 5,000 schools).
- total: the roll-up job itself (``rollup.submit`` + ``jobs.execute``: collect, Excel, PDF, stored
  artifacts), summed over the districts; once, on never-compiled data.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

FLOOR_SQL = """
WITH years(year) AS (VALUES (CAST(:y AS integer)), (CAST(:y AS integer) - 1)),
s AS (
  SELECT district_id, id, name, code, kind FROM school WHERE active AND district_id = ANY(:d)),
p AS (
  SELECT wp.district_id, wp.school_id, wp.year,
         CASE WHEN wp.status IN ('submitted', 'returned', 'approved') THEN wp.status
              WHEN wp.status = 'draft' AND wp.approved_version_id IS NOT NULL THEN 'approved'
              ELSE 'not_submitted' END AS plan_status,
         wp.first_submitted_at, wp.approved_at,
         count(DISTINCT sa.id) AS planned, count(DISTINCT ar.scheduled_activity_id) AS done
  FROM work_plan wp
  LEFT JOIN scheduled_activity sa
         ON sa.district_id = wp.district_id AND sa.plan_id = wp.id AND sa.school_id = wp.school_id
  LEFT JOIN activity_record ar
         ON ar.district_id = sa.district_id AND ar.scheduled_activity_id = sa.id AND ar.school_id = sa.school_id
  WHERE wp.district_id = ANY(:d) AND wp.year IN (CAST(:y AS integer), CAST(:y AS integer) - 1)
  GROUP BY wp.district_id, wp.school_id, wp.year, wp.status, wp.approved_version_id, wp.first_submitted_at,
           wp.approved_at),
a AS (
  SELECT ap.district_id, ap.school_id, r.year, count(*) AS apps,
         count(*) FILTER (WHERE ap.status <> 'draft') AS apps_submitted,
         string_agg(r.name || '：' || ap.status, '；' ORDER BY r.id) AS apps_text
  FROM application ap JOIN round r ON r.district_id = ap.district_id AND r.id = ap.round_id
  WHERE ap.district_id = ANY(:d) AND r.year IN (CAST(:y AS integer), CAST(:y AS integer) - 1)
  GROUP BY ap.district_id, ap.school_id, r.year),
ys AS (
  SELECT district_id, school_id, year,
         CASE WHEN status IN ('submitted', 'returned', 'accepted') THEN status ELSE 'not_submitted' END AS status,
         first_submitted_at
  FROM year_summary WHERE district_id = ANY(:d) AND year IN (CAST(:y AS integer), CAST(:y AS integer) - 1)),
t AS (
  SELECT district_id, school_id, count(*) AS held, min(review_due_on) AS review_due
  FROM title WHERE district_id = ANY(:d) AND status IN ('awarded', 'due', 'kept', 'conditional')
  GROUP BY district_id, school_id),
rows AS (
  SELECT s.district_id, s.id AS school_id, s.name, s.code, s.kind, y.year,
         coalesce(p.plan_status, 'not_submitted') AS plan_status, p.first_submitted_at, p.approved_at,
         coalesce(p.planned, 0) AS planned, coalesce(p.done, 0) AS done,
         p.first_submitted_at < ((dl.due_on + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') AS on_time,
         coalesce(a.apps, 0) AS apps, coalesce(a.apps_submitted, 0) AS apps_submitted, a.apps_text,
         coalesce(t.held, 0) AS held, t.review_due,
         coalesce(ys.status, 'not_submitted') AS summary_status, ys.first_submitted_at AS summary_submitted_at
  FROM s CROSS JOIN years y
  LEFT JOIN p ON p.district_id = s.district_id AND p.school_id = s.id AND p.year = y.year
  LEFT JOIN a ON a.district_id = s.district_id AND a.school_id = s.id AND a.year = y.year
  LEFT JOIN t ON t.district_id = s.district_id AND t.school_id = s.id
  LEFT JOIN ys ON ys.district_id = s.district_id AND ys.school_id = s.id AND ys.year = y.year
  LEFT JOIN plan_deadline dl ON dl.district_id = s.district_id AND dl.year = y.year)
SELECT district_id, year, kind, school_id,
       max(name) AS name, max(code) AS code, max(plan_status) AS plan_status,
       max(first_submitted_at) AS submitted_at, max(approved_at) AS approved_at,
       max(done) AS done_one, max(planned) AS planned_one, max(apps_text) AS apps_text, max(review_due) AS review_due,
       max(summary_status) AS summary_status, max(summary_submitted_at) AS summary_submitted_at,
       count(*) AS schools,
       count(*) FILTER (WHERE first_submitted_at IS NOT NULL) AS filed,
       count(*) FILTER (WHERE on_time) AS on_time,
       count(*) FILTER (WHERE plan_status = 'approved') AS approved,
       round(avg(done::numeric / planned) FILTER (WHERE planned > 0), 4) AS completion_avg,
       count(*) FILTER (WHERE planned = 0) AS band_none,
       count(*) FILTER (WHERE planned > 0 AND done::numeric / planned < 0.5) AS band_0_49,
       count(*) FILTER (WHERE planned > 0 AND done::numeric / planned >= 0.5 AND done::numeric / planned < 0.8)
         AS band_50_79,
       count(*) FILTER (WHERE planned > 0 AND done::numeric / planned >= 0.8 AND done < planned) AS band_80_99,
       count(*) FILTER (WHERE planned > 0 AND done >= planned) AS band_100,
       sum(apps) AS applications, sum(apps_submitted) AS applications_submitted, sum(held) AS titles_held,
       count(*) FILTER (WHERE review_due <= make_date(year, 12, 31)) AS reviews_due,
       count(*) FILTER (WHERE summary_submitted_at IS NOT NULL) AS summaries_submitted,
       count(*) FILTER (WHERE summary_status = 'accepted') AS summaries_accepted
FROM rows
GROUP BY GROUPING SETS ((district_id, year, kind, school_id), (district_id, year, kind), (district_id, year))
"""


def _best(fn, times: int) -> float:
    best = None
    for _ in range(times):
        started = time.perf_counter()
        fn()
        took = time.perf_counter() - started
        best = took if best is None else min(best, took)
    return best


def _check_floor(rows, district_ids, year) -> list[str]:
    """The floor computes what collect computes: compare the district figures of both years for
    a few districts (off the clock). Returns the differences (none expected)."""
    from app.extensions import db
    from app.rollup import data
    from tenants.scope import Scope, tenant_scope

    totals = {(r.district_id, r.year): r for r in rows if r.school_id is None and r.kind is None}
    problems = []
    for district_id in district_ids:
        with tenant_scope(Scope.district(district_id)):
            figures = data.collect(year)
            db.session.rollback()
        for summary, y in ((figures["summary"], year), (figures["previous"], year - 1)):
            floor = totals[(district_id, y)]
            bands = [floor.band_none, floor.band_0_49, floor.band_50_79, floor.band_80_99, floor.band_100]
            pairs = {"schools": (summary["schools"], floor.schools), "filed": (summary["filed"], floor.filed),
                     "approved": (summary["approved"], floor.approved),
                     "applications": (summary["applications"], floor.applications),
                     "applications_submitted": (summary["applications_submitted"], floor.applications_submitted),
                     "titles_held": (summary["titles_held"], floor.titles_held),
                     "bands": ([b["count"] for b in summary["completion_distribution"]], bands)}
            if summary["filed_on_time"] is not None:
                pairs["on_time"] = (summary["filed_on_time"], floor.on_time)
            if "summaries_submitted" in summary:
                pairs["summaries_submitted"] = (summary["summaries_submitted"], floor.summaries_submitted)
                pairs["summaries_accepted"] = (summary["summaries_accepted"], floor.summaries_accepted)
            problems += [f"{district_id}/{y} {name}: collect {a} floor {b}" for name, (a, b) in pairs.items() if a != b]
            a, b = summary["completion_avg"], floor.completion_avg
            if (a is None) != (b is None) or (a is not None and abs(a - float(b)) > 0.00011):
                problems.append(f"{district_id}/{y} completion_avg: collect {a} floor {b}")
    return problems


def main() -> None:
    from sqlalchemy import select, text

    from app import create_app
    from app.extensions import db
    from app.jobs import services as jobs
    from app.rollup import data
    from app.rollup import services as rollup
    from tenants.models import District, School
    from tenants.scope import Scope, tenant_scope

    spec = json.loads(sys.argv[1])
    year = int(spec["year"])
    app = create_app()
    out = {}
    with app.app_context():
        with tenant_scope(Scope.system("bench: the roll-up sets")):
            slugs = {d.slug: d.id for d in db.session.scalars(select(District))}
        warm = slugs[spec["warm"]]  # imports, fonts and the connection pool, off the clock
        with tenant_scope(Scope.district(warm)):
            data.collect(year)
            run = rollup.submit(year, None)
            run_id = run.id
            db.session.commit()
        jobs.execute(warm, run_id)
        for label, set_slugs in spec["sets"].items():
            ids = [slugs[s] for s in set_slugs]
            with tenant_scope(Scope.system("bench: roll-up floor")):
                schools = db.session.scalar(select(db.func.count()).select_from(School)
                                            .where(School.district_id.in_(ids), School.active.is_(True)))
                rows = []

                def floor():
                    rows[:] = db.session.execute(text(FLOOR_SQL), {"y": year, "d": ids}).all()

                floor_s = _best(floor, 3)
                db.session.rollback()
            per_school_rows = sum(1 for r in rows if r.school_id is not None)
            mismatches = _check_floor(rows, ids[:3], year)

            def compute():
                for district_id in ids:
                    with tenant_scope(Scope.district(district_id)):
                        data.collect(year)
                        db.session.rollback()

            compute_s = _best(compute, 3 if schools <= 5000 else 1)
            total_s, statuses = 0.0, []
            for district_id in ids:
                started = time.perf_counter()
                with tenant_scope(Scope.district(district_id)):
                    run = rollup.submit(year, None)
                    run_id = run.id
                    db.session.commit()
                statuses.append(jobs.execute(district_id, run_id))
                total_s += time.perf_counter() - started
            out[label] = {"schools": schools, "districts": len(ids), "floor_s": floor_s, "floor_rows": len(rows),
                          "floor_school_rows": per_school_rows, "floor_mismatches": mismatches, "compute_s": compute_s, "total_s": total_s,
                          "job_statuses": sorted(set(statuses))}
            print(f"[rollup] {label}: {out[label]}", file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
