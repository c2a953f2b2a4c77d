"""Shared helpers for the compilation and roll-up tests: a submitted plan and an
application snapshot with real evidence files, PDF text extraction, running jobs."""
from __future__ import annotations

import io
import struct
import zlib
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import JobRun
from tenants.scope import Scope, tenant_scope
from tests.plans.helpers import actor, content, district_session, school

YEAR = 2026


def png_bytes(width=40, height=30, rgb=(183, 28, 28)) -> bytes:
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf_bytes(text="附件一 佐证材料") -> bytes:
    from reportlab.pdfgen import canvas

    from app.compilation import fonts

    fonts.register()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    c.setFont(fonts.REGULAR, 14)
    c.drawString(72, 700, text)
    c.showPage()
    c.setFont(fonts.REGULAR, 14)
    c.drawString(72, 700, "第二页")
    c.save()
    return buffer.getvalue()


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def outline_titles(data: bytes) -> list[str]:
    from pypdf import PdfReader

    out = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                out.append(item.title)

    walk(PdfReader(io.BytesIO(data)).outline)
    return out


def submit_plan(app, world, school_name="s1a", year=YEAR, **changes) -> tuple[int, int]:
    """Save and submit a plan through the services; (version id, dossier run id)."""
    from app.plans import services

    district = world.d2 if school_name == "s2a" else world.d1
    who = {"s1a": "chair1a", "s1b": "chair1b", "s2a": "chair2a"}[school_name]
    roles = {"chair1a": "school_chair", "chair1b": "school_chair", "chair2a": "school_chair"}
    from app.plans.services import Actor

    with district_session(app, district):
        sch = school(world, school_name)
        data = content(title=f"{sch.name}{year}年工会工作计划", **changes)
        plan = services.save_draft(sch, year, data, Actor(world.users[who], frozenset({roles[who]})))
        version = services.submit(plan, Actor(world.users[who], frozenset({roles[who]})))
        ids = version.id, version.dossier_run_id
        db.session.commit()
    return ids


def make_snapshot(app, world, evidence_files=(), school_name="s1a", year=YEAR, total="17.50") -> tuple[int, int]:
    """A round with a frozen application snapshot of the school, holding the given evidence
    files [(name, bytes)] stored as uploads; the dossier run queued as the submit service does."""
    from app.rounds.models import Application, ApplicationSnapshot, Round
    from app.rubrics.models import Rubric
    from app.uploads import store

    district = world.d2 if school_name == "s2a" else world.d1
    school_id = getattr(world, school_name)
    with district_session(app, district):
        rubric = Rubric(family=f"dossier-{school_name}-{year}", version=1, name="学校工会工作考核细则", total_points=20,
                        status="published")
        db.session.add(rubric)
        db.session.flush()
        round_ = Round(kind="title", year=year, name=f"{year}年先进职工之家评选", status="open", rubric_id=rubric.id,
                       opens_on=date(2000, 1, 1), closes_on=date(2099, 12, 31), quotas={"advanced": 2})
        db.session.add(round_)
        db.session.flush()
        application = Application(school_id=school_id, round_id=round_.id, status="submitted",
                                  summary="本校工会坚持民主管理，建家工作扎实。", latest_snapshot_no=1)
        db.session.add(application)
        db.session.flush()
        evidence = []
        for n, (name, data) in enumerate(evidence_files, 1):
            path = store(district, f"evidence/{school_id}", data, "." + name.rsplit(".", 1)[-1])
            evidence.append({"id": n, "indicator_id": 1, "original_name": name, "stored_path": path,
                             "content_type": "", "size": len(data), "sha256": "", "uploaded_at": None})
        snapshot = ApplicationSnapshot(school_id=school_id, application_id=application.id, number=1, content={
            "number": 1, "submitted_at": "2026-05-01T02:00:00+00:00", "late": False,
            "round": {"id": round_.id, "name": round_.name, "kind": "title", "year": year},
            "rubric": {"id": rubric.id, "name": rubric.name, "version": 1, "total_points": "20.00"},
            "school": {"id": school_id, "name": school(world, school_name).name, "code": "A1"},
            "summary": "本校工会坚持民主管理，建家工作扎实。",
            "categories": [{"id": 1, "name": "自身建设", "cap": "10.00"}, {"id": 2, "name": "民主管理", "cap": "10.00"}],
            "scores": [
                {"indicator_id": 1, "category_id": 1, "code": "1", "title": "组织健全", "max_points": "4.00",
                 "must_pass": True, "veto": False, "passed": True, "computed_points": "4.00", "note": "委员会齐全"},
                {"indicator_id": 2, "category_id": 1, "code": "2", "title": "参加培训及会议", "max_points": "6.00",
                 "must_pass": False, "veto": False, "passed": None, "computed_points": "5.50", "note": ""},
                {"indicator_id": 3, "category_id": 2, "code": "3", "title": "教代会提案办理", "max_points": "10.00",
                 "must_pass": False, "veto": False, "passed": None, "computed_points": "8.00", "note": "提案办结率 100%"},
            ],
            "total": total, "must_pass_failed": [], "vetoed": [], "evidence": evidence})
        db.session.add(snapshot)
        db.session.flush()
        run = jobs.submit("application_dossier", f"application-dossier-{snapshot.id}",
                          {"snapshot_id": snapshot.id, "application_id": application.id, "number": 1},
                          school_id=school_id)
        snapshot.dossier_run_id = run.id
        ids = snapshot.id, run.id
        db.session.commit()
    return ids


def run_job(app, district_id, run_id) -> dict:
    with app.app_context():
        status = jobs.execute(district_id, run_id)
        db.session.remove()
    return run_row(app, district_id, run_id) | {"outcome": status}


def run_row(app, district_id, run_id) -> dict:
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            run = db.session.get(JobRun, (district_id, run_id))
            out = {c.name: getattr(run, c.name) for c in JobRun.__table__.columns}
        db.session.remove()
    return out


def artifacts(app, district_id, kind=None) -> list[dict]:
    from app.compilation.models import Artifact

    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            stmt = select(Artifact)
            if kind:
                stmt = stmt.where(Artifact.kind == kind)
            rows = [{c.name: getattr(a, c.name) for c in Artifact.__table__.columns} for a in db.session.scalars(stmt)]
        db.session.remove()
    return rows


def artifact_bytes(app, row) -> bytes:
    import os

    from app.compilation import storage

    with app.app_context():
        with open(os.path.join(storage.root(), row["path"]), "rb") as handle:
            data = handle.read()
    return data


__all__ = ["YEAR", "actor", "artifact_bytes", "artifacts", "make_snapshot", "outline_titles", "pdf_bytes", "pdf_text",
           "png_bytes", "run_job", "run_row", "submit_plan"]
