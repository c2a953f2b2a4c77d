"""The roll-up job and its cache. ``state(year)`` is cheap (the fingerprint's few
aggregate queries plus two lookups): an unchanged roll-up opens at once from its stored
figures; a changed input gives a new fingerprint, so the page says the roll-up is stale
and offers to recompile. The job is keyed by year + fingerprint (idempotent)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from app.compilation import fonts, storage
from app.compilation.models import ROLLUP_JSON, ROLLUP_PDF, ROLLUP_XLSX, Artifact
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import FAILED, JobRun
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


def figures(artifact: Artifact) -> dict:
    return json.loads(storage.read(artifact).decode("utf-8"))


def files(year: int, fp: str) -> dict[str, Artifact | None]:
    return {kind: storage.find(kind, subject(year), fp) for kind in (ROLLUP_XLSX, ROLLUP_PDF, ROLLUP_JSON)}


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
