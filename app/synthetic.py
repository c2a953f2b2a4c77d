"""Synthetic province-scale data for the benchmarks (issue 7): ``flask demo generate``.

Deterministic by seed: the same scale and seed give the same names, plans, activities and scores.
Fast because the bulky rows (schools, users, plans, schedules, versions, activity records, self
scores) go in as set-based inserts with ids taken in blocks from ``tenants.ids``, each district in
its own tenant scope (so PostgreSQL's row-level security checks every row), while the few rows
that carry rules — the rubric, the round and its transitions — go through the same services as
the web pages, so the data always satisfies them.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import insert, select, update

from app.accounts import services as accounts
from app.accounts.models import User
from app.extensions import db
from tenants import ids, provisioning
from tenants.models import Membership, School
from tenants.scope import Scope, tenant_scope

PASSWORD = "Jianjia-2026"

DISTRICT_NAMES = ["临江", "青山", "东湖", "西城", "南岭", "北塘", "长安", "云溪", "白沙", "松岗", "金水", "桃源",
                  "龙泉", "凤凰", "清河", "雁塔", "梅园", "柳湾", "石门", "翠屏"]
PLACES = ["城关", "实验", "育才", "新华", "解放", "人民", "光明", "红星", "朝阳", "东风", "建设", "和平", "青年",
          "文昌", "滨江", "湖畔", "桂花", "枫林", "高桥", "马街", "双河", "三里", "五里", "七星", "九龙", "十字"]
KINDS = [("primary", "小学", 0.45), ("junior", "初级中学", 0.2), ("senior", "高级中学", 0.08), ("complete", "中学", 0.05),
         ("nine_year", "九年一贯制学校", 0.08), ("kindergarten", "幼儿园", 0.1), ("vocational", "职业学校", 0.04)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "建国晓梅立新静洋红伟芳敏军丽强磊娟涛明超秀兰霞平刚桂英华玉萍文辉鹏飞婷雪琳慧"
SECTION_TITLES = [("加强思想政治引领，推进师德师风建设", "ethics"), ("健全民主管理，开好教职工代表大会", "democracy"),
                  ("深化校务公开，保障教职工知情权", "openness"), ("建设教工之家，提升服务水平", "home"),
                  ("做好送温暖工作，关心困难教职工", "care"), ("丰富文体活动，促进身心健康", "culture"),
                  ("做好女教职工工作", "women"), ("加强工会自身建设", "self")]
ACTIVITIES = [("召开工会委员会会议，制定年度工作计划", "self"), ("召开教职工代表大会", "democracy"),
              ("开展“三八”妇女节庆祝活动", "women"), ("组织教职工春季健步走", "culture"),
              ("开展师德师风专题学习", "ethics"), ("校务公开栏内容更新", "openness"), ("走访慰问困难教职工", "care"),
              ("组织教职工体检", "care"), ("开展青年教师基本功比赛", "ethics"), ("举办教职工趣味运动会", "culture"),
              ("评选优秀工会会员", "self"), ("开展“金秋助学”活动", "care"), ("教师节慰问退休教职工", "care"),
              ("开展教工之家阵地建设", "home"), ("组织工会干部培训", "self"), ("召开工会年度工作总结会", "self")]
SLOTS = [[2], [3], [4], [5], [6], [7, 8], [9], [10], [11], [12]]
PLAN_STATES = [("approved", 70), ("submitted", 10), ("returned", 5), ("draft", 5), (None, 10)]


@dataclass
class Scale:
    districts: int = 1
    schools: int = 50
    seed: int = 1
    year: int | None = None
    prefix: str = "gen"
    indicators: int = 60
    with_round: bool = True
    stage: str = "assessing"  # or "calibrating": every sheet submitted, the round moved on to 核分
    applicants: int = 0  # schools with a filled, unsubmitted application in an open title round (the surge)


@dataclass
class Generated:
    district_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


def generate(scale: Scale, *, progress=None) -> Generated:
    """Create ``scale.districts`` districts of ``scale.schools`` schools each; returns counts."""
    started = time.perf_counter()
    out = Generated()
    password_hash = accounts.hash_password(PASSWORD)  # one argon2 hash for every generated user
    year = scale.year or date.today().year
    for number in range(1, scale.districts + 1):
        rng = random.Random(f"{scale.seed}-{number}")
        slug = f"{scale.prefix}{number:03d}"
        if provisioning.find_by_slug(slug) is not None:
            raise ValueError(f"区县 {slug} 已存在：请换一个前缀（--prefix）或先下线该区县")
        name = DISTRICT_NAMES[(number - 1) % len(DISTRICT_NAMES)]
        suffix = "" if number <= len(DISTRICT_NAMES) else str((number - 1) // len(DISTRICT_NAMES) + 1)
        district = provisioning.create_district(slug, f"{name}{suffix}区教育工会", f"示范省{name}{suffix}区")
        district_id = district.id
        db.session.commit()
        out.district_ids.append(district_id)
        with tenant_scope(Scope.district(district_id)):
            _district(district_id, slug, f"{name}{suffix}", scale, year, rng, password_hash, out)
            db.session.commit()
        if progress:
            progress(number, scale.districts)
    out.seconds = time.perf_counter() - started
    return out


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ids(table: str, n: int) -> list[int]:
    return ids.allocate(db.session.connection(), table, n)


def _pick(rng: random.Random, weighted) -> object:
    return rng.choices([w[0] for w in weighted], weights=[w[-1] for w in weighted])[0]


def _district(district_id, slug, place_name, scale, year, rng, password_hash, out: Generated) -> None:
    schools = _schools(district_id, place_name, scale.schools, rng)
    out.add("schools", len(schools))
    assessor_user_ids = _users(district_id, slug, schools, rng, password_hash, out)
    _plans(district_id, schools, year, rng, out)
    if scale.with_round:
        rubric_id = _annual_round(district_id, schools, year, scale.indicators, rng, out, assessor_user_ids,
                                  stage=scale.stage)
        if scale.applicants:
            _open_title_round(district_id, schools[:scale.applicants], year, rubric_id, rng, out)


def _schools(district_id, place_name, n, rng) -> list[dict]:
    rows, used = [], set()
    for index, school_id in enumerate(_ids("school", n)):
        kind, label, _ = _pick(rng, KINDS), None, None
        label = next(k[1] for k in KINDS if k[0] == kind)
        place = rng.choice(PLACES)
        name = f"{place_name}区{place}{label}"
        serial = 1
        while name in used:
            serial += 1
            name = f"{place_name}区{place}第{_cn_number(serial)}{label}"
        used.add(name)
        staff = rng.randint(30, 260) if kind != "kindergarten" else rng.randint(15, 60)
        rows.append({"district_id": district_id, "id": school_id, "name": name, "code": f"S{index + 1:04d}",
                     "kind": kind, "staff_count": staff, "member_count": staff - rng.randint(0, max(1, staff // 12)),
                     "address": f"{place_name}区{place}路{rng.randint(1, 300)}号", "active": True, "created_at": _now()})
    db.session.execute(insert(School), rows)
    return rows


def _cn_number(n: int) -> str:
    digits = "零一二三四五六七八九十"
    return digits[n] if n <= 10 else f"十{digits[n - 10]}" if n < 20 else str(n)


def _person(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _users(district_id, slug, schools, rng, password_hash, out: Generated) -> None:
    """A district admin, two staff, assessors (one per 20 schools, at least 7), and a chair and an
    editor per school. Usernames are ``<slug>_admin``, ``<slug>_c<n>`` (chair of school n) …"""
    people = [(f"{slug}_admin", "district_admin", None), (f"{slug}_staff1", "district_staff", None),
              (f"{slug}_staff2", "district_staff", None)]
    people += [(f"{slug}_p{n}", "assessor", None) for n in range(1, max(7, len(schools) // 20) + 1)]
    for n, school in enumerate(schools, start=1):
        people += [(f"{slug}_c{n}", "school_chair", school["id"]), (f"{slug}_e{n}", "school_editor", school["id"])]
    now = _now()
    user_ids = db.session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True),
        [{"username": username, "display_name": _person(rng), "phone": f"139{rng.randint(0, 99999999):08d}",
          "email": "", "password_hash": password_hash, "active": True, "must_change_password": False,
          "locale": "zh_CN", "created_at": now} for username, _, _ in people]).all()
    db.session.execute(insert(Membership), [
        {"district_id": district_id, "id": membership_id, "user_id": user_id, "school_id": school_id, "role": role,
         "created_at": now}
        for membership_id, user_id, (_, role, school_id) in zip(_ids("membership", len(people)), user_ids, people)])
    out.add("users", len(people))
    return [user_id for user_id, (_, role, _) in zip(user_ids, people) if role == "assessor"]


def _plans(district_id, schools, year, rng, out: Generated) -> None:
    """Plans with sections, items and a schedule of ~20 activities; versions for the filed ones,
    activity records for a random share of what was due so far (completion rates spread out)."""
    from app.activities.models import ActivityRecord
    from app.plans.models import PlanDeadline, PlanItem, PlanSection, PlanVersion, ScheduledActivity, WorkPlan

    due_on = date(year, 3, 15)
    db.session.execute(insert(PlanDeadline), [{"district_id": district_id, "id": _ids("plan_deadline", 1)[0],
                                               "year": year, "due_on": due_on}])
    today = date.today()
    filed = [(school, state) for school in schools if (state := _pick(rng, PLAN_STATES))]
    plan_ids = _ids("work_plan", len(filed))
    plans, sections, items, scheduled, versions, records = [], [], [], [], [], []
    for plan_id, (school, state) in zip(plan_ids, filed):
        sid = school["id"]
        base = {"district_id": district_id, "school_id": sid, "plan_id": plan_id}
        chosen = rng.sample(SECTION_TITLES, 5)
        content_sections, content_slots = [], []
        for position, (title, category) in enumerate(chosen):
            section_id = len(sections)
            sections.append({**base, "position": position, "title": title, "_key": section_id})
            texts = [f"{title[:8]}：第{k + 1}项具体措施，落实到人、按月推进" for k in range(3)]
            for k, text in enumerate(texts):
                items.append({**base, "position": k, "text": text, "category": category, "_section": section_id})
            content_sections.append({"title": title, "items": [{"text": t, "category": category} for t in texts]})
        activities = []
        for months in SLOTS:
            for title, category in rng.sample(ACTIVITIES, 2):
                activities.append({**base, "months": months, "first_month": months[0], "position": len(activities),
                                   "title": title, "category": category})
        scheduled.extend(activities)
        submitted_at = datetime(year, 2, 20, 2, 0, tzinfo=timezone.utc) + timedelta(hours=rng.randint(0, 24 * 40))
        plans.append({**{k: base[k] for k in ("district_id", "school_id")}, "id": plan_id, "year": year,
                      "status": state, "title": f"{school['name']}{year}年工会工作计划",
                      "guiding_ideology": "以习近平新时代中国特色社会主义思想为指导，全心全意依靠教职工办学。",
                      "goals": "建设合格职工之家，争创先进职工之家。", "measures": ["工会委员分工负责，每月检查落实"],
                      "unclassified": [], "has_unsubmitted_changes": False,
                      "latest_version_no": 0 if state == "draft" else 1, "approved_version_id": None,
                      "first_submitted_at": None if state == "draft" else submitted_at,
                      "last_submitted_at": None if state == "draft" else submitted_at,
                      "approved_at": submitted_at + timedelta(days=3) if state == "approved" else None,
                      "created_at": submitted_at - timedelta(days=5), "updated_at": submitted_at,
                      "_activities": activities, "_sections": content_sections})
        if state != "draft":
            done_share = rng.uniform(0.2, 1.0) if state in ("approved", "submitted") else 0.0
            due = [a for a in activities if a["first_month"] <= (today.month if today.year == year else 12)]
            records.extend((a, sid) for a in due[:round(len(due) * done_share)])
    # ids in blocks, then link the children to them
    for row, new_id in zip(sections, _ids("plan_section", len(sections))):
        row["id"] = new_id
    section_ids = {row["_key"]: row["id"] for row in sections}
    for row, new_id in zip(items, _ids("plan_item", len(items))):
        row["id"], row["section_id"] = new_id, section_ids[row.pop("_section")]
    for row, new_id in zip(scheduled, _ids("scheduled_activity", len(scheduled))):
        row["id"] = new_id
    for row in sections:
        row.pop("_key")
    filed_plans = [p for p in plans if p["status"] != "draft"]
    for plan, version_id in zip(filed_plans, _ids("plan_version", len(filed_plans))):
        approved = plan["status"] == "approved"
        content = {"title": plan["title"], "guiding_ideology": plan["guiding_ideology"], "goals": plan["goals"],
                   "sections": plan["_sections"], "measures": plan["measures"], "unclassified": [],
                   "schedule": [{"months": m, "activities": [{"id": a["id"], "title": a["title"], "category": a["category"]}
                                                            for a in plan["_activities"] if a["months"] == m]}
                                for m in SLOTS]}
        versions.append({"district_id": district_id, "school_id": plan["school_id"], "id": version_id,
                         "plan_id": plan["id"], "number": 1, "content": content,
                         "submitted_at": plan["first_submitted_at"], "submitted_by": None,
                         "decision": {"approved": "approved", "returned": "returned"}.get(plan["status"], "submitted"),
                         "decided_at": plan["approved_at"], "decided_by": None,
                         "decision_note": "同意" if approved else "", "dossier_run_id": None})
        if approved:
            plan["approved_version_id"] = version_id
    for plan in plans:
        plan.pop("_activities"), plan.pop("_sections")
    db.session.execute(insert(WorkPlan), plans)
    db.session.execute(insert(PlanSection), sections)
    db.session.execute(insert(PlanItem), items)
    db.session.execute(insert(ScheduledActivity), scheduled)
    if versions:
        db.session.execute(insert(PlanVersion), versions)
    record_rows = []
    for (activity, school_id), record_id in zip(records, _ids("activity_record", len(records))):
        held_on = date(year, activity["first_month"], rng.randint(1, 28))
        record_rows.append({"district_id": district_id, "school_id": school_id, "id": record_id, "year": year,
                            "held_on": min(held_on, today) if held_on.year == today.year else held_on,
                            "title": activity["title"], "category": activity["category"],
                            "participants": rng.randint(10, 120), "description": "按计划开展，有签到表和照片。",
                            "scheduled_activity_id": activity["id"], "created_by": None, "created_at": _now()})
    if record_rows:
        db.session.execute(insert(ActivityRecord), record_rows)
    out.add("plans", len(plans))
    out.add("scheduled_activities", len(scheduled))
    out.add("activity_records", len(record_rows))


def synthetic_rubric(indicators: int) -> dict:
    """A 100-point rubric of ``indicators`` indicators in 6 categories, with every kind of
    indicator (deductions, rate bands, a 必备 and a 一票否决 item, a bonus); the numbers add up."""
    names = ["组织建设", "民主管理", "校务公开", "师德建设", "服务职工", "文体活动"]
    caps = [Decimal(20), Decimal(20), Decimal(15), Decimal(15), Decimal(15), Decimal(15)]  # = 100
    per = max(2, indicators // len(names))
    categories = []
    for c, (name, cap) in enumerate(zip(names, caps)):
        share = (cap / per).quantize(Decimal("0.1"), rounding="ROUND_DOWN")
        points = [share] * (per - 1) + [cap - share * (per - 1)]  # the last one takes the remainder
        rows = []
        for k, top in enumerate(points):
            code = f"{c + 1}.{k + 1}"
            row = {"code": code, "title": f"{name}指标 {code}：按考核细则评分", "max_points": float(top),
                   "guidance": "查台账，齐全得满分，缺一项扣 0.5 分"}
            if k == 1:
                row.update(kind="deduction", deduction_per_unit=0.5, deduction_floor=0, guidance="每缺一次扣 0.5 分")
            elif k == 2:
                row.update(kind="rate_band", evidence_method="survey", guidance="按问卷满意率",
                           bands=[[95, float(top)], [90, float((top * 3 / 4).quantize(Decimal("0.1")))],
                                  [80, float((top / 2).quantize(Decimal("0.1")))]])
            elif k == 3 and c == 0:
                row.update(must_pass=True)
            elif k == 3 and c == 1:
                row.update(veto=True, guidance="未召开教代会一票否决")
            rows.append(row)
        if c == len(names) - 1:
            rows.append({"code": f"{c + 1}.+", "title": "获区级以上表彰（加分）", "kind": "bonus", "bonus_max": 3})
        categories.append({"name": name, "cap": float(cap), "indicators": rows})
    total = sum(c["cap"] for c in categories)
    return {"name": f"学校工会工作年度考核细则（{per * len(names)} 项）", "total_points": total,
            "description": "合成数据：用于性能测试。", "notes": "", "categories": categories}


def _annual_round(district_id, schools, year, indicator_count, rng, out: Generated, assessor_user_ids=(),
                  stage: str = "assessing") -> int:
    """A published rubric and this year's 年度考评, opened through the services (that enters every
    school), every application filled with self scores and submitted, then moved to assessing."""
    from app.rounds import services as rounds
    from app.rounds.models import Application, ApplicationSnapshot, SelfScore, snapshot_figures
    from app.rubrics import services as rubrics

    doc, errors = rubrics.clean_document(synthetic_rubric(indicator_count))
    if errors:
        raise ValueError(f"synthetic rubric is invalid: {errors}")
    rubric = rubrics.create_rubric(doc, family="synthetic-annual", audit_details={"synthetic": True})
    rubrics.publish(rubric)
    opens = date(year, 1, 10)
    round_ = rounds.create_round({
        "name": f"{year}年度学校工会工作考评", "kind": "annual_review", "year": year, "rubric_id": rubric.id,
        "opens_on": opens, "closes_on": opens + timedelta(days=300), "grace_days": 0,
        "assessment_due_on": opens + timedelta(days=330), "publicity_working_days": 5,
        "weights": {"self": 20, "assessor": 80, "peer": 0}, "aggregation": "mean", "panel_size": 3,
        "quotas": {"excellent": max(1, len(schools) // 10)}, "grade_bands": [["excellent", 90], ["good", 80], ["pass", 60]],
        "tie_break": ["gates_passed", "assessor_total", "earlier_submission"]})
    rounds.open_round(round_, today=opens)
    db.session.flush()
    parts = rounds.rubric_parts(round_.rubric_id)
    applications = list(db.session.scalars(select(Application).where(Application.round_id == round_.id)))
    filled = _fill_self_scores(district_id, applications, parts, rng)
    # Submit like a chair would: the snapshot holds the computed self-assessment.
    schools_by_id = {s.id: s for s in db.session.scalars(select(School))}
    scores = {}
    for row in db.session.scalars(select(SelfScore)):
        scores.setdefault(row.application_id, {})[row.indicator_id] = row
    snapshots = []
    now = _now()
    for application, snapshot_id in zip(applications, _ids("application_snapshot", len(applications))):
        result = rounds.evaluate(parts, scores.get(application.id, {}))
        content = rounds.snapshot_content(application, round_, schools_by_id[application.school_id], parts,
                                          scores.get(application.id, {}), result, [], 1, now, False)
        content = json.loads(json.dumps(content))
        snapshots.append({"district_id": district_id, "school_id": application.school_id, "id": snapshot_id,
                          "application_id": application.id, "number": 1, "content": content,
                          "submitted_at": now, "submitted_by": None, "dossier_run_id": None,
                          **snapshot_figures(content)})
        application.status = "submitted"
        application.latest_snapshot_no = 1
        application.first_submitted_at = application.last_submitted_at = now
    if snapshots:
        db.session.execute(insert(ApplicationSnapshot), snapshots)
    db.session.flush()
    rounds.start_assessing(round_, today=opens + timedelta(days=301))
    if assessor_user_ids:
        _assessments(district_id, round_.id, applications, parts, list(assessor_user_ids), rng, out,
                     all_submitted=stage == "calibrating")
        if stage == "calibrating":
            from app.results import services as results

            results.start_calibrating(round_)
    out.add("rounds", 1)
    out.add("indicators", len(parts.indicators))
    out.add("applications", len(applications))
    out.add("self_scores", filled)
    return rubric.id


def _assessments(district_id, round_id, applications, parts, assessor_user_ids, rng, out: Generated, *,
                 all_submitted: bool = False) -> None:
    """The assessor pool (the generated assessors), 3–7 assessors per application spread evenly,
    and their score sheets: nine in ten submitted, the rest part-way (as in the last days before
    the assessment deadline), every assessor's last sheet among the open ones; with
    ``all_submitted`` (the calibrating stage) every sheet submitted."""
    from app.assessments.models import Assessor, Assignment, AssessorScore
    from app.rubrics.models import BONUS

    now = _now()
    assessor_ids = _ids("assessor", len(assessor_user_ids))
    db.session.execute(insert(Assessor), [
        {"district_id": district_id, "id": assessor_id, "user_id": user_id, "active": True, "granted_role": False,
         "note": "", "added_by": None, "added_at": now} for assessor_id, user_id in zip(assessor_ids, assessor_user_ids)])
    scored = [i for i in parts.indicators if i.kind != BONUS and not _provided(i)]
    load = {a: 0 for a in assessor_ids}
    panels = []
    for application in applications:
        quality = rng.uniform(0.55, 1.0)
        panel = sorted(load, key=lambda a: (load[a], rng.random()))[:min(len(load), rng.randint(3, 7))]
        for assessor_id in panel:
            load[assessor_id] += 1
        panels.append((application, quality, panel))
    # While assessing, every assessor still has at least their last sheet open.
    last_of = {assessor_id: index for index, (_, _, panel) in enumerate(panels) for assessor_id in panel}
    assignments, scores, submitted_rows = [], [], []
    for index, (application, quality, panel) in enumerate(panels):
        for assessor_id in panel:
            submitted = all_submitted or (rng.random() < 0.9 and last_of[assessor_id] != index)
            # Inserted open and submitted below in one statement: a score row written to a submitted
            # sheet bumps the sheet and then its application (migrations 0011, 0015) — 150,000
            # application updates at 500 schools, where the one UPDATE bumps each application once.
            assignments.append({"district_id": district_id, "school_id": application.school_id,
                                "round_id": round_id, "application_id": application.id, "assessor_id": assessor_id,
                                "panel_id": None, "source": "auto", "status": "assigned", "comment": "",
                                "assigned_by": None, "assigned_at": now, "submitted_at": None, "reopened_count": 0,
                                "reminded_at": None, "updated_at": now})
            if submitted:
                submitted_rows.append(len(assignments) - 1)
            bias = rng.uniform(-0.08, 0.08)  # this assessor's leniency on this school
            for indicator in scored if submitted else scored[:len(scored) // 2]:
                inputs = self_inputs(indicator, max(0.0, min(1.0, quality + bias)), rng)
                scores.append({"district_id": district_id, "school_id": application.school_id,
                               "application_id": application.id, "indicator_id": indicator.id,
                               "points": inputs["points"], "units": inputs["units"], "rate": inputs["rate"],
                               "comment": "", "updated_at": now, "_assignment": len(assignments) - 1})
    for row, new_id in zip(assignments, _ids("assignment", len(assignments))):
        row["id"] = new_id
    for row, new_id in zip(scores, _ids("assessor_score", len(scores))):
        row["id"], row["assignment_id"] = new_id, assignments[row.pop("_assignment")]["id"]
    if assignments:
        db.session.execute(insert(Assignment), assignments)
    if scores:
        db.session.execute(insert(AssessorScore), scores)
    if submitted_rows:
        db.session.execute(update(Assignment).where(Assignment.id.in_([assignments[i]["id"] for i in submitted_rows]))
                           .values(status="submitted", submitted_at=now, comment="材料齐全，工作扎实。")
                           .execution_options(synchronize_session=False))
    out.add("assessors", len(assessor_ids))
    out.add("assignments", len(assignments))
    out.add("assessor_scores", len(scores))


def _provided(indicator) -> bool:
    from app.rounds.services import is_provided

    return is_provided(indicator)


def _fill_self_scores(district_id, applications, parts, rng) -> int:
    from app.rounds.models import SelfScore

    provided = {(r.application_id, r.indicator_id) for r in db.session.scalars(
        select(SelfScore).where(SelfScore.provided.is_(True),
                                SelfScore.application_id.in_([a.id for a in applications])))}
    rows = []
    for application in applications:
        quality = rng.uniform(0.55, 1.0)
        for indicator in parts.indicators:
            if (application.id, indicator.id) not in provided:
                rows.append({"district_id": district_id, "school_id": application.school_id,
                             "application_id": application.id, "indicator_id": indicator.id, "note": "",
                             "provided": False, **self_inputs(indicator, quality, rng)})
    for row, new_id in zip(rows, _ids("self_score", len(rows))):
        row["id"] = new_id
    if rows:
        db.session.execute(insert(SelfScore), rows)
    return len(rows)


def _open_title_round(district_id, schools, year, rubric_id, rng, out: Generated) -> None:
    """This year's 先进职工之家 round, open for applications: the given schools have applied and
    filled in their self-assessment but not submitted (what a deadline surge submits)."""
    from app.rounds import services as rounds

    today = rounds.china_today()
    round_ = rounds.create_round({
        "name": f"{year}年度先进职工之家评选", "kind": "title", "year": year, "rubric_id": rubric_id,
        "target_tier": "advanced", "home_kind": "staff_home", "opens_on": today - timedelta(days=20),
        "closes_on": today + timedelta(days=10), "grace_days": 0, "assessment_due_on": today + timedelta(days=40),
        "publicity_working_days": 5, "weights": {"self": 20, "assessor": 80, "peer": 0}, "aggregation": "mean",
        "panel_size": 3, "quotas": {"advanced": max(1, len(schools) // 5)},
        "tie_break": ["gates_passed", "assessor_total", "earlier_submission"]})
    rounds.open_round(round_, today=today)
    by_id = {s.id: s for s in db.session.scalars(select(School).where(School.id.in_([s["id"] for s in schools])))}
    applications = [rounds.apply(round_, by_id[s["id"]], today=today) for s in schools]
    out.add("open_round_applications", len(applications))
    out.add("self_scores", _fill_self_scores(district_id, applications, rounds.rubric_parts(rubric_id), rng))


def self_inputs(indicator, quality: float, rng: random.Random) -> dict:
    """Inputs of one indicator for a school of the given quality (0..1), within its bounds."""
    from app.rubrics.models import BONUS, DEDUCTION, RATE_BAND

    values = {"points": None, "units": None, "rate": None, "passed": None}
    if indicator.must_pass or indicator.veto:
        values["passed"] = rng.random() < 0.97
    if indicator.kind == DEDUCTION:
        values["units"] = 0 if rng.random() < quality else rng.randint(1, 3)
    elif indicator.kind == RATE_BAND:
        values["rate"] = Decimal(str(round(min(100.0, 70 + quality * 30 + rng.uniform(-5, 5)), 1)))
    elif indicator.kind == BONUS:
        values["points"] = Decimal(rng.choice([0, 0, 1, 2]))
    else:
        top = Decimal(str(indicator.max_points))
        points = top * Decimal(str(min(1.0, max(0.0, quality + rng.uniform(-0.15, 0.1)))))
        values["points"] = (points * 2).quantize(Decimal(1)) / 2  # half points, as assessors give them
    return values
