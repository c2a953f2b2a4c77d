"""Shared helpers for the rubric tests."""
from __future__ import annotations

import io
from contextlib import contextmanager

from openpyxl import Workbook

from app.extensions import db
from tenants.scope import Scope, tenant_scope

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@contextmanager
def district(app, district_id):
    """App context + the district's scope; the session is removed afterwards."""
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            yield
        db.session.remove()


def small_doc(name="测试细则", **over) -> dict:
    """A rubric that adds up: 组织建设 10 (points 6 + deduction 4 + bonus ≤3), 入会 5 (rate band)."""
    doc = {"name": name, "total_points": 15, "description": "简介", "notes": "备注",
           "categories": [
               {"name": "组织建设", "cap": 10, "indicators": [
                   {"code": "1", "title": "制度健全", "kind": "points", "max_points": 6, "must_pass": True,
                    "guidance": "缺一项扣 1 分", "evidence_method": "records"},
                   {"code": "2", "title": "参加会议", "kind": "deduction", "max_points": 4, "deduction_per_unit": 1,
                    "deduction_floor": 0, "evidence_method": "interview"},
                   {"code": "2+", "title": "获奖加分", "kind": "bonus", "bonus_max": 3},
               ]},
               {"name": "会员发展", "cap": 5, "indicators": [
                   {"code": "3", "title": "入会率", "kind": "rate_band", "max_points": 5,
                    "bands": [[90, 5], [80, 3], [70, 1]], "evidence_method": "provided",
                    "provided_source": "membership_rate", "veto": True},
               ]},
           ]}
    doc.update(over)
    return doc


def create(doc=None, **kw):
    from app.rubrics import services

    clean, errors = services.clean_document(doc or small_doc())
    assert errors == [], errors
    return services.create_rubric(clean, **kw)


def workbook(rows, meta=(("名称", "导入细则"), ("总分", 15)), header=None) -> bytes:
    from app.rubrics.excel import COLUMNS

    wb = Workbook()
    ws = wb.active
    ws.title = "考核细则"
    for key, value in meta:
        ws.append([key, value])
    ws.append([])
    ws.append(list(header or COLUMNS))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
