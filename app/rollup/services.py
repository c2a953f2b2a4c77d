"""The roll-up job and its cache. ``state(year)`` is cheap (the fingerprint's few
aggregate queries plus two lookups): an unchanged roll-up opens at once from its stored
figures; a changed input gives a new fingerprint, so the page says the roll-up is stale
and offers to recompile. The job is keyed by year + fingerprint (idempotent)."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select

from app.compilation import fonts, storage
from app.compilation.models import ROLLUP_JSON, ROLLUP_PDF, ROLLUP_XLSX, Artifact
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import FAILED, JobRun
from app.paging import PER_PAGE, ListPage
from app.rollup import data, excel, report

KIND = "rollup"


def subject(year: int) -> str:
    return f"year-{year}"


def dedupe_key(year: int, fp: str) -> str:
    return f"rollup-{year}-{fp[:16]}"


@dataclass
class RollupState:
    year: int
    fingerprint: str
    artifact: Artifact | None  # the newest JSON figures (fresh or stale)
    run: JobRun | None         # the run for the current fingerprint, if any

    @property
    def fresh(self) -> bool:
        return self.artifact is not None and self.artifact.fingerprint == self.fingerprint

    @property
    def stale(self) -> bool:
        return self.artifact is not None and not self.fresh

    @property
    def compiling(self) -> bool:
        return self.run is not None and not self.run.finished

    @property
    def failed(self) -> bool:
        return self.run is not None and self.run.status == FAILED


def state(year: int) -> RollupState:
    fp = data.fingerprint(year)
    artifact = storage.find(ROLLUP_JSON, subject(year))
    if artifact is not None and not storage.exists(artifact):
        artifact = None
    run = db.session.scalar(select(JobRun).where(JobRun.dedupe_key == dedupe_key(year, fp)))
    return RollupState(year, fp, artifact, run)


def submit(year: int, actor_user_id: int | None) -> JobRun:
    fp = data.fingerprint(year)
    run = jobs.submit(KIND, dedupe_key(year, fp), {"year": year, "fingerprint": fp}, queue="reports",
                      actor_user_id=actor_user_id)
    if run.status == FAILED or (run.finished and storage.find(ROLLUP_JSON, subject(year), fp) is None):
        jobs.requeue(run)
    return run


_FIGURES: OrderedDict = OrderedDict()
_FIGURES_MAX = 8
_FIGURES_LOCK = threading.Lock()


def figures(artifact: Artifact) -> dict:
    """The stored figures of a roll-up, parsed once per process: a stored file never changes
    under its (district, artifact, SHA-256) key — storing again writes a new digest. Callers
    must not modify the result (it is shared between requests)."""
    key = (artifact.district_id, artifact.id, artifact.sha256, artifact.path)
    with _FIGURES_LOCK:
        cached = _FIGURES.get(key)
        if cached is not None:
            _FIGURES.move_to_end(key)
            return cached
    value = json.loads(storage.read(artifact).decode("utf-8"))
    with _FIGURES_LOCK:
        _FIGURES[key] = value
        while len(_FIGURES) > _FIGURES_MAX:
            _FIGURES.popitem(last=False)
    return value


def files(year: int, fp: str) -> dict[str, Artifact | None]:
    """The three stored outputs of the roll-up with fingerprint ``fp`` (one query)."""
    kinds = (ROLLUP_XLSX, ROLLUP_PDF, ROLLUP_JSON)
    found: dict[str, Artifact | None] = dict.fromkeys(kinds)
    for artifact in db.session.scalars(select(Artifact).where(
            Artifact.kind.in_(kinds), Artifact.subject == subject(year), Artifact.fingerprint == fp)
            .order_by(Artifact.created_at, Artifact.id)):
        found[artifact.kind] = artifact  # the newest wins, as storage.find
    return found


# --------------------------------------------------------------------------- the school table

SORTS = {  # sort key → the row's value (None / "" sort last in either direction)
    "name": lambda r: r["name"],
    "kind": lambda r: r["kind_label"],
    "plan": lambda r: r["plan_status_label"],
    "submitted": lambda r: r["submitted_on"],
    "completion": lambda r: r["completion_rate"],
    "summary": lambda r: r["summary_status_label"],
    "applications": lambda r: r["applications_submitted"],
    "total": lambda r: r["total"],
    "rank": lambda r: r["rank"],
    "tier": lambda r: r["tier"],
    "review": lambda r: r["review_due"],
}


@dataclass
class SchoolTable:
    page: ListPage
    q: str
    kind: str
    sort: str
    desc: bool
    kinds: list  # [(kind, label)] of the district's schools, for the filter


def school_table(rows: list[dict], *, q: str = "", kind: str = "", sort: str = "name", desc: bool = False,
                 page: int = 1, per_page: int = PER_PAGE) -> SchoolTable:
    """The dashboard's school table: rows filtered by name/code (``q``) and school kind, sorted by
    a column (missing values last, then by name as the figures are ordered), one page of them.
    Unknown sort keys or kinds fall back to the defaults; a page past the end shows the last."""
    kinds = sorted({(r["kind"], r["kind_label"]) for r in rows})
    kind = kind if kind in {k for k, _ in kinds} else ""
    sort = sort if sort in SORTS else "name"
    q = (q or "").strip()[:50]
    needle = q.casefold()
    chosen = [r for r in rows if (not kind or r["kind"] == kind)
              and (not needle or needle in r["name"].casefold() or needle in (r.get("code") or "").casefold())]
    if sort != "name" or desc:
        key = SORTS[sort]
        present = [r for r in chosen if key(r) not in (None, "")]
        missing = [r for r in chosen if key(r) in (None, "")]
        chosen = sorted(present, key=key, reverse=desc) + missing
    return SchoolTable(ListPage(chosen, page, per_page), q, kind, sort, desc, kinds)


@jobs.handler(KIND)
def rollup_job(run, progress) -> dict:
    year = int(run.args["year"])
    if not fonts.available():
        raise jobs.JobFailed(fonts.MISSING_MESSAGE)
    fp = run.args.get("fingerprint") or data.fingerprint(year)
    progress(2, "读取数据")

    def per_school(done, total):  # schools done / total, across the three outputs
        progress(5 + int(60 * done / max(1, total)), f"已汇总 {done}/{total} 所学校")

    figures_ = data.collect(year, per_school)
    total = len(figures_["schools"])
    progress(70, "生成 Excel 汇总表")
    xlsx = excel.workbook(figures_)
    progress(80, "生成 PDF 报告")
    pdf_bytes = report.render(figures_)
    progress(95, "保存文件")
    name = f"{figures_['district']['name']}-{year}年汇总"
    body = json.dumps(figures_, ensure_ascii=False, sort_keys=True).encode("utf-8")
    meta = {"schools": total, "year": year}
    storage.store(ROLLUP_XLSX, subject(year), fp, xlsx, filename=f"{name}表.xlsx", extension=".xlsx", run_id=run.id, meta=meta)
    storage.store(ROLLUP_PDF, subject(year), fp, pdf_bytes, filename=f"{name}报告.pdf", extension=".pdf", run_id=run.id,
                  meta=meta)
    storage.store(ROLLUP_JSON, subject(year), fp, body, filename=f"{name}.json", extension=".json", run_id=run.id,
                  meta=meta)
    return {"year": year, "schools": total, "fingerprint": fp,
            "summary": f"已汇总 {total} 所学校（{year} 年）"}


def dashboard(figures_: dict) -> dict:
    """What the dashboard page draws (ECharts) — taken from the stored figures unchanged."""
    summary, previous = figures_["summary"], figures_["previous"]
    prev_kinds = {k["kind"]: k for k in previous["by_kind"]}
    return {
        "year": figures_["year"], "previous_year": figures_["previous_year"],
        "district": figures_["district"], "generated_at": figures_["generated_at"],
        "summary": summary, "previous": previous,
        "schools": figures_["schools"],
        "charts": {
            "completion_distribution": {
                "bands": [b["band"] for b in summary["completion_distribution"]],
                "current": [b["count"] for b in summary["completion_distribution"]],
                "previous": [b["count"] for b in previous["completion_distribution"]]},
            "score_distribution": {
                "bands": [b["band"] for b in summary["score_distribution"]],
                "current": [b["count"] for b in summary["score_distribution"]],
                "previous": [b["count"] for b in previous["score_distribution"]]},
            "completion_by_kind": {
                "kinds": [k["label"] for k in summary["by_kind"]],
                "current": [k["completion_avg"] for k in summary["by_kind"]],
                "previous": [prev_kinds.get(k["kind"], {}).get("completion_avg") for k in summary["by_kind"]]},
            "year_over_year": {
                "labels": ["提交率", "按时提交率", "通过率", "平均完成率"],
                "current": [summary[k] for k in ("filed_rate", "on_time_rate", "approved_rate", "completion_avg")],
                "previous": [previous[k] for k in ("filed_rate", "on_time_rate", "approved_rate", "completion_avg")]},
        },
    }
