"""Helpers for the work plan tests: actors, a scoped service context, sample content and a
small HTML form reader (to post back exactly what a page offers)."""
from __future__ import annotations

import copy
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

from app.extensions import db
from app.plans.services import Actor
from tenants.models import School
from tenants.scope import Scope, tenant_scope

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "plans"
SAMPLE_002 = SAMPLES / "002_5714f57b4cff8f47.txt"
SAMPLE_004 = SAMPLES / "004_008f8425e77873c9.txt"

ROLE_OF = {"d1admin": "district_admin", "d1staff": "district_staff", "d1assessor": "assessor",
           "chair1a": "school_chair", "editor1a": "school_editor", "chair1b": "school_chair"}

CONTENT = {
    "title": "一区甲小学2026年工会工作计划",
    "guiding_ideology": "以习近平新时代中国特色社会主义思想为指导，团结动员广大教职工。",
    "goals": "建设模范教工之家\n教代会提案办结率100%",
    "sections": [
        {"title": "加强民主管理", "items": [{"text": "召开第五届教代会第二次会议", "category": "democratic_management"},
                                      {"text": "深化校务公开", "category": "openness"}]},
        {"title": "关心教职工生活", "items": [{"text": "春节走访慰问困难教职工", "category": "care"}]},
    ],
    "measures": ["工会委员分工负责", "每月召开工会例会"],
    "schedule": [
        {"months": [3], "activities": [{"title": "三八节女教工活动", "category": "women"},
                                       {"title": "学雷锋活动", "category": "other"}]},
        {"months": [7, 8], "activities": [{"title": "组织教师考察学习", "category": "other"}]},
        {"months": [9], "activities": [{"title": "庆祝教师节", "category": "culture_sports"}]},
    ],
    "unclassified": [],
}


def content(**changes) -> dict:
    data = copy.deepcopy(CONTENT)
    data.update(changes)
    return data


def actor(world, username: str) -> Actor:
    return Actor(world.users[username], frozenset({ROLE_OF[username]}))


@contextmanager
def district_session(app, district_id):
    """An app context with the district's scope, as a request or a job would have."""
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            yield
        db.session.remove()


def school(world, name="s1a") -> School:
    district = world.d2 if name == "s2a" else world.d1
    return db.session.get(School, (district, getattr(world, name)))


class _FormReader(HTMLParser):
    """Collects the fields of one <form> (inputs, textareas, selected options)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self._textarea = self._select = None
        self._select_value = None
        self._first_option = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and attrs.get("name") and attrs.get("type") not in ("checkbox", "file", "submit"):
            self.fields.append([attrs["name"], attrs.get("value", "")])
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = [attrs["name"], ""]
        elif tag == "select" and attrs.get("name"):
            self._select, self._select_value, self._first_option = attrs["name"], None, None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = attrs.get("value", "")
            if "selected" in attrs:
                self._select_value = attrs.get("value", "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "textarea" and self._textarea is not None:
            self.fields.append(self._textarea)
            self._textarea = None
        elif tag == "select" and self._select:
            value = self._select_value if self._select_value is not None else self._first_option
            self.fields.append([self._select, value or ""])
            self._select = None
        elif tag == "form":
            self.inside = False


def form_fields(html: str, form_id: str = "plan-form") -> dict[str, str]:
    """The fields a browser would post from the form (``<template>`` rows are not in it)."""
    html = html.split("<template", 1)[0]
    reader = _FormReader(form_id)
    reader.feed(html)
    return {name: value for name, value in reader.fields}
