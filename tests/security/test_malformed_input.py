"""Malformed input at scale (issue 8): generated bad uploads, bad Excel imports, bad plan texts and
bad form/JSON values, through the real routes. For each route the counters tried / rejected /
accepted / crashed are printed and checked: crashed (5xx or a traceback) must be 0, and a rejection
leaves nothing half-written (row counts and the upload folder unchanged).

Bounded in the normal suite (``JIANJIA_MALFORMED_EXAMPLES`` per route, default 20); the long run:
``JIANJIA_MALFORMED_EXAMPLES=500 .venv/bin/pytest -q -s tests/security/test_malformed_input.py``.
"""
from __future__ import annotations

import io
import os
import random
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from tests.activities.helpers import add_record
from tests.admin.test_import import USER_HEADER, XLSX_MIME
from tests.conftest import csrf_token, post
from tests.rounds import files
from tests.rounds.conftest import WIDE_OPEN, open_round, rubric  # noqa: F401 - fixture
from tenants.scope import Scope, tenant_scope

N = int(os.environ.get("JIANJIA_MALFORMED_EXAMPLES", "20"))
MB = 1024 * 1024
ODD_NAMES = ["../../etc/passwd", "..\\..\\boot", "a\x00b", "\u202egpj.exe", "x" * 300, "CON", "名\r\n字",
             " .", "", "/abs/path", "照片" * 120, "%2e%2e%2fx", "a\u200bb", "<script>", "NUL.txt"]
EXTS = [".pdf", ".png", ".jpg", ".jpeg", ".docx", ".xlsx", ".gif", ".exe", ".html", ".svg", ".zip", ""]


def _bases() -> dict[str, bytes]:
    return {"pdf": files.pdf(), "png": files.png(4, 4), "jpg": files.jpeg(), "docx": files.docx(),
            "xlsx": files.xlsx()}


def _specials() -> list[tuple[str, bytes]]:
    return [("年度总结.pdf", files.html_as_pdf()), ("会议记录.docx", files.plain_zip()),
            ("台账.docx", files.zip_bomb_docx()), ("外部实体.docx", files.xxe_docx()),
            ("穿越.docx", files.traversal_docx()), ("像素炸弹.png", files.png(50_000, 50_000)),
            ("像素炸弹.jpg", files.png(30_000, 30_000)), ("空.pdf", b""), ("程序.jpg", b"MZ" + b"\x90" * 400),
            ("网页.png", b"<html><script>alert(1)</script></html>"), ("svg.png", b"<svg onload=alert(1)/>"),
            ("宏.docx", files._zip({"[Content_Types].xml": b"<Types/>", "word/vbaProject.bin": b"x" * 10}))]


def bad_files(n: int, seed: int) -> list[tuple[str, bytes]]:
    """The corpus: fixed malicious fixtures, then ``n`` generated ones — a real file of one kind
    truncated at a random point, with flipped bytes, or under another kind's extension, each under
    a normal or an odd name."""
    rng = random.Random(seed)
    bases = _bases()
    out = list(_specials())
    for i in range(n):
        kind = rng.choice(list(bases))
        data = bases[kind]
        how = rng.choice(["truncate", "flip", "wrong_ext", "odd_name", "prefix"])
        ext = "." + kind
        if how == "truncate":
            data = data[:rng.randrange(1, max(2, len(data) - 1))]
        elif how == "flip":
            buf = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            data = bytes(buf)
        elif how == "wrong_ext":
            ext = rng.choice([e for e in EXTS if e != "." + kind])
        elif how == "prefix":
            data = rng.choice([b"<!DOCTYPE html>", b"#!/bin/sh\n", b"PK\x03\x04", b"\xff\xd8\xff"]) + data
        name = (rng.choice(ODD_NAMES) if how == "odd_name" or rng.random() < 0.3 else f"材料{i}") + ext
        out.append((name, data))
    return out


class Tally:
    def __init__(self, route: str):
        self.route, self.c = route, Counter()

    def add(self, outcome: str) -> None:
        self.c["tried"] += 1
        self.c[outcome] += 1

    def report(self) -> None:
        print(f"\n[malformed] {self.route}: tried {self.c['tried']}, rejected {self.c['rejected']}, "
              f"accepted {self.c['accepted']}, crashed {self.c['crashed']}")
        assert self.c["crashed"] == 0, self.c
        assert self.c["tried"] > 0


def _crashed(response) -> bool:
    body = response.get_data(as_text=True)
    return response.status_code >= 500 or "Traceback" in body or 'File "/' in body


def _files_under(app) -> set[str]:
    root = Path(app.config["UPLOAD_FOLDER"])
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _count(app, district_id, model) -> int:
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            n = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return n


def _check_upload(app, tally, response, rows_before, rows_after, files_before, files_after, what):
    if _crashed(response):
        tally.add("crashed")
        print(f"[malformed] CRASH {tally.route} {what!r}: {response.status_code}")
    elif rows_after == rows_before:
        tally.add("rejected")
        assert files_after == files_before, f"a rejected upload left files behind: {what!r}"
    else:
        tally.add("accepted")
        assert rows_after == rows_before + 1 and len(files_after - files_before) == 1, what


# --- uploads --------------------------------------------------------------------------------------

def test_bad_evidence_uploads(app, world, login_as, rubric):  # noqa: F811
    from app.rounds.models import Evidence

    round_id = open_round(app, world, rubric, **WIDE_OPEN)
    client = login_as("chair1a")
    tally = Tally("evidence upload")
    url = f"/d/d1/s/{world.s1a}/rounds/{round_id}/indicators/{rubric.ind['org']}/evidence"
    corpus = bad_files(N, seed=1) + [("超大.pdf", files.pdf(b"0" * (26 * MB)))]
    for name, data in corpus:
        rows, stored = _count(app, world.d1, Evidence), _files_under(app)
        response = post(client, url, {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
        _check_upload(app, tally, response, rows, _count(app, world.d1, Evidence), stored, _files_under(app),
                      (name[:40], len(data)))
        if tally.c["accepted"] and _count(app, world.d1, Evidence) >= 3:  # stay under the quota
            with app.app_context(), tenant_scope(Scope.district(world.d1)):
                for row in db.session.scalars(select(Evidence)):
                    db.session.delete(row)
                db.session.commit()
            for path in _files_under(app):
                os.remove(path)
    tally.report()


def test_bad_activity_files(app, world, login_as):
    from app.activities.models import ActivityFile

    record_id = add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节座谈会")
    client = login_as("chair1a")
    tally = Tally("activity files")
    page = f"/d/d1/s/{world.s1a}/activities/{record_id}"
    token = csrf_token(client, page)
    for name, data in bad_files(N, seed=2) + [("超大.png", files.png() + b"\x00" * (11 * MB))]:
        rows, stored = _count(app, world.d1, ActivityFile), _files_under(app)
        response = client.post(f"{page}/files", data={"csrf_token": token, "files": [(io.BytesIO(data), name)]},
                               content_type="multipart/form-data")
        _check_upload(app, tally, response, rows, _count(app, world.d1, ActivityFile), stored, _files_under(app),
                      (name[:40], len(data)))
    tally.report()


def test_bad_plan_imports_and_texts(app, world, login_as):
    from app.plans.models import WorkPlan
    from app.plans.services import today_china

    year = today_china().year
    client = login_as("chair1a")
    tally = Tally("plan import (files)")
    url = f"/d/d1/s/{world.s1a}/plans/{year}/import"
    token = csrf_token(client, url)
    for name, data in bad_files(N, seed=3) + [("计划.txt", "第一条\x00\ufffe".encode("utf-16")),
                                              ("计划.txt", b"\xff\xfe\x00" * 1000), ("计划.txt", b"x" * (11 * MB))]:
        plans, stored = _count(app, world.d1, WorkPlan), _files_under(app)
        response = client.post(url, data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
        if _crashed(response):
            tally.add("crashed")
        else:
            tally.add("rejected" if response.status_code == 400 else "accepted")  # accepted = proposal shown
        assert _count(app, world.d1, WorkPlan) == plans and _files_under(app) == stored  # review only, nothing saved
    tally.report()

    texts = Tally("plan import (pasted texts)")

    @settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(min_size=1, max_size=3000) | st.lists(st.sampled_from(
        ["一、", "（一）", "1.", "3月", "三月份", "\u202e", "\x00", "=HYPERLINK(\"x\")", "工会", "\n", "　", "9999月",
         "第十三个月", "<script>", "…" * 50]), min_size=1, max_size=200).map("".join))
    def paste(text):
        response = client.post(url, data={"csrf_token": token, "text": text})
        texts.add("crashed" if _crashed(response) else ("rejected" if response.status_code == 400 else "accepted"))

    paste()
    texts.report()
    assert _count(app, world.d1, WorkPlan) == 0


# --- Excel imports ------------------------------------------------------------------------------

def _workbook(sheets: dict[str, list[list]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title[:31] or "x")
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


CELL = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                 st.sampled_from(["=1+1", "=HYPERLINK(\"http://x\")", "@SUM(A1)", "+cmd|' /C calc'!A0", "-1",
                                  "学校工会主席", "一区甲小学", "13912345678", "110101199003074518", " ", "\u202e"]))


def _people_counts(app, district_id):
    from app.accounts.models import User
    from tenants.models import Membership, School

    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            schools = db.session.scalar(select(func.count()).select_from(School))
            members = db.session.scalar(select(func.count()).select_from(Membership))
        users = db.session.scalar(select(func.count()).select_from(User))
        db.session.remove()
    return schools, members, users


def test_bad_people_imports(app, world, login_as):
    client = login_as("d1admin")
    tally = Tally("people import")
    before_files = _files_under(app)

    def send(data: bytes, name="导入.xlsx"):
        before = _people_counts(app, world.d1)
        response = post(client, "/d/d1/import", {"file": (io.BytesIO(data), name, XLSX_MIME)},
                        content_type="multipart/form-data")
        after = _people_counts(app, world.d1)
        if _crashed(response):
            tally.add("crashed")
        elif after == before:
            tally.add("rejected")
        else:
            tally.add("accepted")

    for name, data in bad_files(N // 2, seed=4):
        send(data, name if name.endswith(".xlsx") else name + ".xlsx")

    @settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
    @given(header=st.one_of(st.just(USER_HEADER), st.lists(CELL, max_size=9)),
           rows=st.lists(st.lists(CELL, max_size=9), max_size=8), extra=st.booleans())
    def generated(header, rows, extra):
        sheets = {"用户": [list(header)] + rows}
        if extra:
            sheets["学校"] = [["学校名称", "学校类型"], ["新学校", "不存在的类型"]]
        send(_workbook(sheets))

    generated()
    tally.report()
    # what was refused left nothing; the stored copies of imported files are the only new files
    assert all("/imports/" in f for f in _files_under(app) - before_files)


def test_bad_rubric_imports(app, world, login_as):
    from app.rubrics.models import Rubric

    client = login_as("d1admin")
    tally = Tally("rubric import")
    stored = _files_under(app)

    def send(data: bytes, name="细则.xlsx"):
        before = _count(app, world.d1, Rubric)
        response = post(client, "/d/d1/rubrics/import", {"file": (io.BytesIO(data), name), "family": ""},
                        content_type="multipart/form-data")
        if _crashed(response):
            tally.add("crashed")
        else:
            tally.add("accepted" if _count(app, world.d1, Rubric) > before else "rejected")

    for name, data in bad_files(N // 2, seed=5):
        send(data, name)

    @settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rows=st.lists(st.lists(CELL, max_size=8), max_size=12))
    def generated(rows):
        send(_workbook({"考核细则": [["类别", "指标", "分值", "评分标准"]] + rows}))

    generated()
    tally.report()
    assert _files_under(app) == stored


def test_truncated_and_hostile_workbooks_to_both_imports(app, world, login_as):
    """Zip-level damage: truncated workbooks, a workbook with a 1 GB sheet entry (bomb), a workbook
    whose entries escape the archive."""
    good = _workbook({"用户": [USER_HEADER]})
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        with zipfile.ZipFile(io.BytesIO(good)) as src:
            for item in src.infolist():
                z.writestr(item, src.read(item))
        z.writestr("xl/worksheets/sheet9.xml", b"\0" * (200 * MB))
    hostile = [good[:n] for n in (10, 100, len(good) // 2, len(good) - 5)] + [bomb.getvalue(),
                                                                              files.traversal_docx()]
    client = login_as("d1admin")
    tally = Tally("workbook damage (people + rubric import)")
    for data in hostile:
        for url, form in (("/d/d1/import", {}), ("/d/d1/rubrics/import", {"family": ""})):
            before = _people_counts(app, world.d1)
            response = post(client, url, {**form, "file": (io.BytesIO(data), "坏文件.xlsx")},
                            content_type="multipart/form-data")
            tally.add("crashed" if _crashed(response) else "rejected")
            assert response.status_code in (200, 400, 413, 422), response.status_code
            assert _people_counts(app, world.d1) == before
    tally.report()


# --- forms and JSON ------------------------------------------------------------------------------

VALUE = st.one_of(st.text(max_size=300), st.sampled_from(["", "0", "-1", "1e309", "9" * 40, "NaN", "\x00",
                                                          "\u202e", "' OR 1=1 --", "<b>x</b>", "一区甲小学"]))


def test_bad_form_values_to_main_forms(app, world, login_as):
    from tenants.models import School

    client = login_as("d1admin")
    chair = login_as("chair1a")
    tally = Tally("forms (school, user, activity)")
    token = csrf_token(client, "/d/d1/schools/new")
    chair_token = csrf_token(chair, f"/d/d1/s/{world.s1a}/activities/new")

    @settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=VALUE, kind=VALUE, staff=VALUE, members=VALUE, username=VALUE, phone=VALUE, day=VALUE,
           participants=VALUE)
    def forms(name, kind, staff, members, username, phone, day, participants):
        schools = _count(app, world.d1, School)
        response = client.post("/d/d1/schools/new", data={"csrf_token": token, "name": name, "kind": kind,
                                                          "staff_count": staff, "member_count": members})
        tally.add("crashed" if _crashed(response) else ("accepted" if response.status_code == 302 else "rejected"))
        if response.status_code != 302:
            assert _count(app, world.d1, School) == schools
        response = client.post("/d/d1/users/new", data={"csrf_token": token, "username": username,
                                                        "display_name": name, "phone": phone, "password": name,
                                                        "role": kind, "school_id": staff})
        tally.add("crashed" if _crashed(response) else ("accepted" if response.status_code == 302 else "rejected"))
        response = chair.post(f"/d/d1/s/{world.s1a}/activities/new",
                              data={"csrf_token": chair_token, "held_on": day, "title": name, "category": kind,
                                    "participants": participants, "description": phone})
        tally.add("crashed" if _crashed(response) else ("accepted" if response.status_code == 302 else "rejected"))

    forms()
    tally.report()


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=40),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                 max_size=5), max_leaves=12)


def test_bad_json_to_api_endpoints(app, world, login_as):
    from tenants.models import School

    client = login_as("d1admin")
    headers = {"X-CSRFToken": csrf_token(client, "/account/password")}
    tally = Tally("JSON API (POST schools, PATCH school)")

    @settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=JSON | st.fixed_dictionaries({"name": VALUE, "kind": VALUE}, optional={
        "staff_count": JSON, "member_count": JSON, "district_id": JSON, "id": JSON}))
    def api(body):
        before = _count(app, world.d2, School)
        for method, url in (("post", "/api/v1/d/d1/schools"), ("patch", f"/api/v1/d/d1/s/{world.s1a}")):
            response = getattr(client, method)(url, json=body, headers=headers)
            tally.add("crashed" if _crashed(response) else ("accepted" if response.status_code < 300 else "rejected"))
            assert response.headers["Content-Type"].startswith("application/json")
        raw = client.post("/api/v1/d/d1/schools", data=b"{\"name\": \"x\"" + b"\xff" * 3, headers={
            **headers, "Content-Type": "application/json"})
        tally.add("crashed" if _crashed(raw) else "rejected")
        assert _count(app, world.d2, School) == before  # never another district

    api()
    tally.report()


# --- objection files (results 公示) ------------------------------------------------------------------

from tests.results.test_views import _publish, _school_url, fake, setup  # noqa: E402,F401 - fixtures


def test_bad_objection_files(app, world, login_as, setup):  # noqa: F811
    from app.results.models import Objection, ObjectionFile

    _publish(login_as("d1admin"), setup)
    chair = login_as("chair1b")
    url = _school_url(world, setup, "s1b", "objections")
    tally = Tally("objection files")
    for name, data in bad_files(N, seed=6) + [("超大.pdf", files.pdf(b"0" * (26 * MB)))]:
        before = (_count(app, world.d1, Objection), _count(app, world.d1, ObjectionFile))
        stored = _files_under(app)
        response = post(chair, url, {"reason": "材料有误", "file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")
        after = (_count(app, world.d1, Objection), _count(app, world.d1, ObjectionFile))
        if _crashed(response):
            tally.add("crashed")
        elif after == before:
            tally.add("rejected")
            assert _files_under(app) == stored, f"a refused objection left files behind: {name!r}"
        else:
            tally.add("accepted")
            # the objection is filed; an EMPTY attachment is dropped by design (services.file_objection), and
            # a name with CR/LF cannot travel in a multipart header: the part arrives without a file name
            assert after[0] == before[0] + 1 and after[1] - before[1] == len(_files_under(app) - stored), name
            assert after[1] == before[1] + 1 or not data or "\r" in name or "\n" in name, repr(name)
    tally.report()
