"""Walks every rule in app.url_map (web pages and API operations) as anonymous, as users of
another district and another school, and as every role, and asserts that nothing of another
tenant is returned or changed. A new route without an authorization rule fails here; a new
URL argument without a victim value below fails here too."""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from app.access import PUBLIC, PUBLIC_ENDPOINTS
from app.extensions import db
from tenants.roles import roles_allow
from tests.conftest import csrf_token, login

SKIP_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def victim(app, world):
    """Objects of school s1a in district d1 that every URL argument can point at."""
    from app.accounts.models import ApiToken
    from app.jobs.models import JobRun
    from tenants.models import Membership
    from tenants.scope import Scope, tenant_scope

    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            run = JobRun(kind="import_people", dedupe_key="victim-run", school_id=world.s1a, status="done",
                         result={"summary": "甲小学的秘密结果"})
            db.session.add(run)
            db.session.flush()
            membership = db.session.scalar(select(Membership).where(Membership.user_id == world.users["chair1a"]))
            token = ApiToken(user_id=world.users["chair1a"], name="victim", token_hash="0" * 64, prefix="jj_victim")
            db.session.add(token)
            db.session.flush()
            plan, version, activity, record, upload, note = _plan_objects(world)
            values = {"district": "d1", "school": world.s1a, "run_id": run.id,
                      "user_id": world.users["chair1a"], "membership_id": membership.id,
                      "token_id": token.id, "code": "en", "year": 2026, "plan_id": plan.id,
                      "version_id": version.id, "number": version.number, "scheduled_id": activity.id,
                      "record_id": record.id, "file_id": upload.id, "notification_id": note.id,
                      "month": 3, "figure": "total"}
            values.update(_rubric_objects(world))
            values.update(_round_objects(world))
            values.update(_results_objects(world, values))
            values.update(_title_objects(world))
            values.update(_assessment_objects(world, values))
            values.update(_summary_objects(world))
            db.session.commit()
    return values


# Calls that remove the victim's role or login, or a victim object: walked last, and a later 404 is expected.
DESTRUCTIVE = {"admin.revoke_role", "api_district.delete_membership", "admin.set_active",
               "activities.delete", "activities.delete_file", "api_activities.delete_record",
               "rubrics.delete", "rubrics.delete_category", "rubrics.delete_indicator",
               "school_rounds.delete_evidence", "results.delete_override",
               "assessments.pool_remove", "assessments.unassign"}


def _summary_objects(world) -> dict:
    """A submitted 2026 year summary (工作总结) of s1a with its version 1: the victims for
    summary_id and summary_version_id (``number`` 1 matches its version too)."""
    from app.summaries.models import YearSummary, YearSummaryVersion

    summary = YearSummary(school_id=world.s1a, year=2026, status="submitted", achievements="甲小学的秘密结果",
                          latest_version_no=1)
    db.session.add(summary)
    db.session.flush()
    version = YearSummaryVersion(school_id=world.s1a, summary_id=summary.id, number=1,
                                 content={"year": 2026, "sections": {"achievements": "甲小学的秘密结果"}, "figures": {}})
    db.session.add(version)
    db.session.flush()
    return {"summary_id": summary.id, "summary_version_id": version.id}


def _assessment_objects(world, values) -> dict:
    """d1assessor in the district's pool with a declared conflict of s1a, a score sheet of the
    victim application and a veto finding: the victims for assessor_id, conflict_id,
    assignment_id and finding_id."""
    from app.assessments.models import Assessor, AssessorConflict, Assignment, Finding

    assessor = Assessor(user_id=world.users["d1assessor"], note="甲小学的秘密结果")
    db.session.add(assessor)
    db.session.flush()
    conflict = AssessorConflict(school_id=world.s1a, assessor_id=assessor.id, reason="甲小学的秘密结果")
    assignment = Assignment(school_id=world.s1a, round_id=values["round_id"],
                            application_id=values["application_id"], assessor_id=assessor.id,
                            comment="甲小学的秘密结果")
    finding = Finding(school_id=world.s1a, round_id=values["round_id"], application_id=values["application_id"],
                      indicator_id=values["indicator_id"], kind="veto", note="甲小学的秘密结果",
                      raised_by=world.users["d1staff"])
    db.session.add_all([conflict, assignment, finding])
    db.session.flush()
    return {"assessor_id": assessor.id, "conflict_id": conflict.id, "assignment_id": assignment.id,
            "finding_id": finding.id}


# An assessor reaches a score sheet only while its round is being assessed; the victim round
# is open, so for the assessor these answer 404 (the sheets themselves: tests/assessments).
NOT_YET_ASSESSING = {"assess.score_sheet", "assess.save_indicator", "assess.evidence", "assess.raise_finding",
                     "assess.assessor_decide_finding", "assess.declare_own_conflict"}


def _results_objects(world, values) -> dict:
    # An objection of s1a on the victim round with a file stored on disk, and a working-day
    # override of d1: the victims for objection_id, objection_file_id and override_id.
    from datetime import date

    from app.results.models import Objection, ObjectionFile, WorkdayOverride
    from app.uploads import store

    objection = Objection(round_id=values["round_id"], school_id=world.s1a, reason="甲小学的秘密结果",
                          application_id=values["application_id"])
    db.session.add(objection)
    db.session.flush()
    path = store(world.d1, f"objections/{world.s1a}", b"%PDF-1.4\n% secret\n%%EOF\n", ".pdf")
    file = ObjectionFile(objection_id=objection.id, school_id=world.s1a, original_name="甲小学的秘密结果.pdf",
                         stored_path=path, content_type="application/pdf", size=24, sha256="0" * 64)
    override = WorkdayOverride(day=date(2026, 10, 12), working=False, note="甲小学的秘密结果")
    db.session.add_all([file, override])
    db.session.flush()
    return {"objection_id": objection.id, "objection_file_id": file.id, "override_id": override.id}


def _round_objects(world) -> dict:
    """An open round (on a published rubric of its own) with s1a's application: a self score,
    an evidence file really stored on disk, a comment and a snapshot — the victims for
    round_id, application_id and evidence_id. (indicator_id points at the rubric victim
    above, which is not this round's: the upload answers 400 without a write.)"""
    from datetime import date

    from app.rounds.models import Application, ApplicationComment, ApplicationSnapshot, Evidence, Round, SelfScore
    from app.rubrics.models import Indicator, Rubric, RubricCategory
    from app.uploads import store

    rubric = Rubric(family="victim-round", version=1, name="年度考评细则", total_points=10, status="published")
    db.session.add(rubric)
    db.session.flush()
    category = RubricCategory(rubric_id=rubric.id, position=1, name="自身建设", cap=10)
    db.session.add(category)
    db.session.flush()
    indicator = Indicator(rubric_id=rubric.id, category_id=category.id, position=1, code="1", title="组织健全",
                          kind="points", max_points=10)
    round_ = Round(kind="annual_review", year=2026, name="2026年度考评", status="open", rubric_id=rubric.id,
                   opens_on=date(2000, 1, 1), closes_on=date(2099, 12, 31), grade_bands=[["pass", 6]])
    db.session.add_all([indicator, round_])
    db.session.flush()
    application = Application(school_id=world.s1a, round_id=round_.id, status="draft", entered_automatically=True,
                              summary="甲小学的秘密结果", latest_snapshot_no=1)
    db.session.add(application)
    db.session.flush()
    path = store(world.d1, f"evidence/{world.s1a}", b"%PDF-1.4\n% secret\n%%EOF\n", ".pdf")
    evidence = Evidence(school_id=world.s1a, application_id=application.id, indicator_id=indicator.id,
                        original_name="甲小学的秘密结果.pdf", stored_path=path, content_type="application/pdf",
                        size=24, sha256="0" * 64)
    db.session.add_all([
        evidence,
        SelfScore(school_id=world.s1a, application_id=application.id, indicator_id=indicator.id, points=5,
                  note="甲小学的秘密结果"),
        ApplicationComment(school_id=world.s1a, application_id=application.id, text="甲小学的秘密结果"),
    ])
    snapshot = ApplicationSnapshot(school_id=world.s1a, application_id=application.id, number=1,
                                   content={"total": "5.00", "summary": "甲小学的秘密结果"})
    db.session.add(snapshot)
    db.session.flush()
    return {"round_id": round_.id, "application_id": application.id, "evidence_id": evidence.id,
            "snapshot_id": snapshot.id}


def _title_objects(world) -> dict:
    """A title of s1a with its history: the victim for title_id."""
    from datetime import date

    from app.titles.models import Title, TitleEvent

    title = Title(school_id=world.s1a, tier="advanced", level="city", awarded_on=date(2024, 12, 1),
                  status="awarded", review_due_on=date(2099, 12, 1), note="甲小学的秘密结果")
    db.session.add(title)
    db.session.flush()
    db.session.add(TitleEvent(school_id=world.s1a, title_id=title.id, event="awarded", to_status="awarded",
                              reason="甲小学的秘密结果", effective_on=date(2024, 12, 1)))
    db.session.flush()
    return {"title_id": title.id}


def _rubric_objects(world) -> dict:
    """A draft rubric of district d1 with a category and an indicator: the victims for
    rubric_id, category_id and indicator_id (district-level objects)."""
    from app.rubrics.models import Indicator, Rubric, RubricCategory

    rubric = Rubric(family="victim", version=1, name="甲小学的秘密结果 考核细则", total_points=10,
                    notes="甲小学的秘密结果")
    db.session.add(rubric)
    db.session.flush()
    category = RubricCategory(rubric_id=rubric.id, position=1, name="甲小学的秘密结果", cap=10)
    db.session.add(category)
    db.session.flush()
    indicator = Indicator(rubric_id=rubric.id, category_id=category.id, position=1, code="1",
                          title="甲小学的秘密结果", kind="points", max_points=10)
    db.session.add(indicator)
    db.session.flush()
    return {"rubric_id": rubric.id, "category_id": category.id, "indicator_id": indicator.id}


def _plan_objects(world):
    """A plan of s1a with a submitted version, a scheduled activity, an activity record with a
    file, and a notification: the victims for URL arguments of the plans/activities areas."""
    from datetime import date

    from app.activities.models import ActivityFile, ActivityRecord, Notification
    from app.plans.models import PlanVersion, ScheduledActivity, WorkPlan

    plan = WorkPlan(school_id=world.s1a, year=2026, status="submitted", title="一区甲小学2026年工会工作计划",
                    guiding_ideology="甲小学的秘密结果", latest_version_no=1)
    db.session.add(plan)
    db.session.flush()
    version = PlanVersion(school_id=world.s1a, plan_id=plan.id, number=1,
                          content={"guiding_ideology": "甲小学的秘密结果"})
    activity = ScheduledActivity(school_id=world.s1a, plan_id=plan.id, months=[3], first_month=3,
                                 title="三月 甲小学的秘密结果")
    db.session.add_all([version, activity])
    db.session.flush()
    record = ActivityRecord(school_id=world.s1a, year=2026, held_on=date(2026, 3, 8), title="甲小学的秘密结果",
                            scheduled_activity_id=activity.id)
    db.session.add(record)
    db.session.flush()
    upload = ActivityFile(school_id=world.s1a, record_id=record.id, original_name="甲小学的秘密结果.png",
                          stored_path="none", content_type="image/png", size=1)
    note = Notification(user_id=world.users["chair1a"], school_id=world.s1a, text="甲小学的秘密结果")
    db.session.add_all([upload, note])
    db.session.flush()
    return plan, version, activity, record, upload, note


def _rules(app):
    pairs = [(rule, method) for rule in app.url_map.iter_rules() if rule.endpoint not in PUBLIC_ENDPOINTS
             for method in sorted(rule.methods - SKIP_METHODS)]
    pairs.sort(key=lambda p: (p[0].endpoint in DESTRUCTIVE, p[1] != "GET", p[0].rule, p[1]))
    return pairs


def _permission(app, endpoint):
    return getattr(app.view_functions[endpoint], "permission", None)


def _url(app, rule, method, values):
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: give the victim a value for {missing}"
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments}, method=method)


def _call(client, method, url, token):
    if url.startswith("/api/"):
        headers = {"X-CSRFToken": token, "Accept": "application/json"}
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, data={"csrf_token": token})


def _snapshot(app) -> str:
    """A digest of every row of every table that a request could change illegitimately."""
    from tenants.scope import system_scope

    ignored = {"login_attempt", "audit_event", "user_session", "alembic_version"}
    digest = hashlib.sha256()
    with app.app_context():
        with system_scope("test: snapshot all tenants"):
            for table in db.metadata.sorted_tables:
                if table.name in ignored:
                    continue
                rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
                digest.update(json.dumps([table.name, [list(map(str, r)) for r in rows]]).encode())
        db.session.remove()
    return digest.hexdigest()


def test_every_endpoint_declares_an_authorization_rule(app):
    missing = [rule.endpoint for rule in app.url_map.iter_rules()
               if rule.endpoint not in PUBLIC_ENDPOINTS and _permission(app, rule.endpoint) is None]
    assert missing == [], f"routes without @requires/@public: {missing}"


def test_anonymous_gets_nothing(app, victim):
    client = app.test_client()
    token = csrf_token(client)
    before = _snapshot(app)
    for rule, method in _rules(app):
        if _permission(app, rule.endpoint) == PUBLIC:
            continue
        url = _url(app, rule, method, victim)
        response = _call(client, method, url, token)
        if url.startswith("/api/"):
            assert response.status_code == 401, (method, url, response.status_code)
        else:
            assert response.status_code == 302 and "/login" in response.location, (method, url, response.status_code)
    assert _snapshot(app) == before


FOREIGN_MARKERS = ["一区甲小学", "甲小学的秘密结果", "CHAIR1A", "chair1a"]


@pytest.mark.parametrize("actor", ["d2admin", "chair2a"])
def test_users_of_another_district_get_404_and_change_nothing(app, victim, actor):
    client = app.test_client()
    assert login(client, actor).status_code == 302
    token = csrf_token(client, "/account/password")
    before = _snapshot(app)
    for rule, method in _rules(app):
        if "district" not in rule.arguments:
            continue
        url = _url(app, rule, method, victim)
        response = _call(client, method, url, token)
        assert response.status_code == 404, (actor, method, url, response.status_code)
        body = response.get_data().decode("utf-8", "replace")
        assert not any(marker in body for marker in FOREIGN_MARKERS), (actor, url)
    assert _snapshot(app) == before


def test_user_of_another_school_cannot_reach_the_school(app, victim):
    client = app.test_client()
    assert login(client, "chair1b").status_code == 302
    token = csrf_token(client, "/account/password")
    before = _snapshot(app)
    for rule, method in _rules(app):
        if "district" not in rule.arguments:
            continue
        url = _url(app, rule, method, victim)
        response = _call(client, method, url, token)
        if "school" in rule.arguments:
            assert response.status_code == 404, (method, url, response.status_code)
        elif set(rule.arguments) & {"run_id", "user_id", "membership_id", "round_id", "application_id"}:
            assert response.status_code in (403, 404), (method, url, response.status_code)
        body = response.get_data().decode("utf-8", "replace")
        assert not any(marker in body for marker in FOREIGN_MARKERS), (method, url)
    assert _snapshot(app) == before


def test_others_cannot_touch_a_users_api_token(app, victim):
    client = app.test_client()
    login(client, "chair1b")
    response = client.post(f"/account/tokens/{victim['token_id']}/revoke",
                           data={"csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 404


OUTSIDE_S1A = {"d1assessor"}  # a district role without the whole district: school pages are 404
ROLE_OF = {"d1admin": {"district_admin"}, "d1staff": {"district_staff"}, "d1assessor": {"assessor"},
           "chair1a": {"school_chair"}, "editor1a": {"school_editor"}}


@pytest.mark.parametrize("actor", sorted(ROLE_OF))
def test_each_role_gets_exactly_what_its_permissions_allow(app, victim, actor):
    """Same district: allowed → a normal answer (never 403/404/500); refused → 403. Never
    any row of district d2 in a page or a payload."""
    client = app.test_client()
    assert login(client, actor).status_code == 302
    token = csrf_token(client, "/account/password")
    for rule, method in _rules(app):
        if "district" not in rule.arguments or rule.endpoint == "accounts.logout":
            continue
        permission = _permission(app, rule.endpoint)
        url = _url(app, rule, method, victim)
        response = _call(client, method, url, token)
        assert response.status_code < 500, (actor, method, url)
        if permission in (PUBLIC, "authenticated"):
            continue
        if roles_allow(ROLE_OF[actor], permission):
            refused = (401, 403) if rule.endpoint in DESTRUCTIVE | NOT_YET_ASSESSING else (401, 403, 404)
            assert response.status_code not in refused, (actor, method, url, response.status_code)
        elif "school" in rule.arguments and actor in OUTSIDE_S1A:
            assert response.status_code == 404, (actor, method, url, response.status_code)
        else:
            assert response.status_code == 403, (actor, method, url, response.status_code)
        body = response.get_data().decode("utf-8", "replace")
        assert "二区甲小学" not in body and "d2admin" not in body, (actor, url)


def test_school_users_never_see_other_schools_in_lists(app, world):
    client = app.test_client()
    login(client, "chair1a")
    payload = client.get("/api/v1/d/d1/schools").get_json()
    assert {item["id"] for item in payload["items"]} == {world.s1a}
    page = client.get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)
    assert "一区甲小学" in page and "一区乙中学" not in page and "CHAIR1B" not in page


def test_district_payloads_only_hold_the_districts_ids(app, world):
    """The OWASP cross-tenant boundary test: collect every id in list payloads."""
    client = app.test_client()
    login(client, "d1admin")

    def collect(obj, key=None, out=None):
        out = out if out is not None else {}
        if isinstance(obj, dict):
            for k, v in obj.items():
                collect(v, k, out)
        elif isinstance(obj, list):
            for v in obj:
                collect(v, key, out)
        elif key in ("district_id", "school_id"):
            out.setdefault(key, set()).add(obj)
        return out

    found = {}
    for url in ("/api/v1/d/d1/schools?per_page=100", "/api/v1/d/d1/memberships?per_page=100"):
        collect(client.get(url).get_json(), out=found)
    assert found["district_id"] == {world.d1}
    assert found.get("school_id", set()) <= {world.s1a, world.s1b, None}


def test_an_explanation_of_another_districts_round_is_404_under_ones_own_district(app, victim):
    """results.explain (a number's inputs, fetched on demand) with d1's round and application ids
    put under d2's own URL: 404, nothing of d1 in the answer."""
    client = app.test_client()
    login(client, "d2admin")
    for headers in ({"HX-Request": "true"}, {}):
        response = client.get(f"/d/d2/results/{victim['round_id']}/applications/{victim['application_id']}"
                              "/explain/total", headers=headers)
        assert response.status_code == 404
        assert not any(marker in response.get_data(as_text=True) for marker in FOREIGN_MARKERS)
