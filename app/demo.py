"""Demo data: one district with realistic schools and a user for every role."""
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import PlatformRole, User
from app.extensions import db
from tenants import provisioning
from tenants.models import Membership
from tenants.scope import Scope, tenant_scope

DISTRICT = ("demo", "示范区教育工会", "示范市示范区")
PASSWORD = "Jianjia-2026"

SCHOOLS = [
    ("示范区实验小学", "primary", "SF001", 126, 120),
    ("示范区第一小学", "primary", "SF002", 98, 95),
    ("示范区城东小学", "primary", "SF003", 74, 72),
    ("示范区第一初级中学", "junior", "SF101", 142, 138),
    ("示范区第二初级中学", "junior", "SF102", 117, 110),
    ("示范区第一高级中学", "senior", "SF201", 236, 230),
    ("示范区育才中学", "complete", "SF202", 205, 199),
    ("示范区外国语学校", "nine_year", "SF301", 168, 160),
    ("示范区金桥九年一贯制学校", "nine_year", "SF302", 88, 85),
    ("示范区机关幼儿园", "kindergarten", "SF401", 56, 50),
    ("示范区阳光幼儿园", "kindergarten", "SF402", 41, 38),
    ("示范区职业技术学校", "vocational", "SF501", 152, 140),
    ("示范区特殊教育学校", "other", "SF601", 37, 37),
]

# username, name, role, school index (None: district level)
USERS = [
    ("admin", "平台管理员", "platform_admin", None),
    ("qu_admin", "李建国", "district_admin", None),
    ("qu_staff", "王晓梅", "district_staff", None),
    ("pingshen", "赵立新", "assessor", None),
    ("zhuxi", "陈静", "school_chair", 0),
    ("weiyuan", "刘洋", "school_editor", 0),
    ("zhuxi2", "孙红", "school_chair", 3),
]


def already_loaded() -> bool:
    return provisioning.find_by_slug(DISTRICT[0]) is not None


def load() -> None:
    district = provisioning.create_district(*DISTRICT)
    schools = [provisioning.add_school(district, name, kind, code=code, staff_count=staff, member_count=members,
                                       address=f"示范区{name[3:5]}路{i + 1}号")
               for i, (name, kind, code, staff, members) in enumerate(SCHOOLS)]
    for username, name, role, school_index in USERS:
        user = accounts.create_user(username, name, PASSWORD, must_change_password=False,
                                    phone=f"1380000{len(username):02d}{school_index or 0:02d}")
        if role == "platform_admin":
            db.session.add(PlatformRole(user_id=user.id, role=role))
            continue
        with tenant_scope(Scope.district(district.id)):
            db.session.add(Membership(district_id=district.id, user_id=user.id, role=role,
                                      school_id=schools[school_index].id if school_index is not None else None))
            db.session.flush()
    db.session.commit()
    _load_rubric_templates(district)
    _load_open_round(district)
    _load_plans(district)
    _load_summaries(district)
    _load_titles(district)
    _queue_rollup(district)


def _queue_rollup(district) -> None:
    """The district roll-up of this year, queued so the worker of ``make run`` compiles it
    (the plans' dossiers are queued by their submits)."""
    from app.activities.services import current_year
    from app.rollup import services as rollup

    from sqlalchemy import inspect

    district_id = inspect(district).identity[0]  # no refresh outside a scope (RLS hides the row)
    with tenant_scope(Scope.district(district_id)):
        rollup.submit(current_year(), None)
        db.session.commit()


def _load_rubric_templates(district) -> None:
    """The shipped 考核细则 templates, as editable drafts of the demo district."""
    from sqlalchemy import inspect

    from app.rubrics import template_library

    # The key from the identity map: after the commit the row is expired, and reloading it
    # outside any scope is refused (RLS on PostgreSQL).
    district_id = inspect(district).identity[0]
    with tenant_scope(Scope.district(district_id)):
        template_library.load_all()
        db.session.commit()


# A small complete 考核细则 (numbers add up, so it can be published) for the demo 年度考评:
# 自身建设 30 + 民主管理 30 + 履行职能 40 = 100, with every kind of indicator, two 上级提供
# ones (filled from the system's data), a 必备 item, a 一票否决 item and a bonus over the cap.
DEMO_RUBRIC = {
    "name": "示范区学校工会工作年度考核细则",
    "total_points": 100,
    "description": "示范区教育工会对所属学校工会的年度考评细则（演示数据）。满分 100 分：自身建设 30 分 + "
                   "民主管理 30 分 + 履行职能 40 分；另设加分项，可超出类别分值。",
    "notes": "演示数据：各项分值与评分标准为示例，正式使用前请按本区做法修改（复制为新版本后修改）。",
    "categories": [
        {"name": "自身建设", "cap": 30, "indicators": [
            {"code": "1", "title": "工会委员会、经费审查委员会、女职工委员会健全，按期换届", "max_points": 6,
             "must_pass": True, "guidance": "组织不健全不得分；未按期换届扣 3 分"},
            {"code": "2", "title": "工会委员会每年至少召开 2 次会议，有年度工作计划和总结", "max_points": 6,
             "guidance": "少开一次会议扣 2 分；无计划或总结各扣 2 分"},
            {"code": "3", "title": "会员入会率", "kind": "rate_band", "max_points": 6,
             "bands": [[95, 6], [90, 4], [80, 2]], "evidence_method": "provided", "provided_source": "membership_rate",
             "guidance": "由系统按会员数 / 教职工数计算"},
            {"code": "4", "title": "参加上级工会组织的培训和会议", "kind": "deduction", "max_points": 6,
             "deduction_per_unit": 2, "deduction_floor": 0, "guidance": "每缺席一次扣 2 分，扣完为止"},
            {"code": "5", "title": "有教工之家活动阵地，制度上墙", "max_points": 6, "evidence_method": "site_visit"},
        ]},
        {"name": "民主管理", "cap": 30, "indicators": [
            {"code": "6", "title": "每年至少召开一次教职工代表大会，程序规范", "max_points": 10, "veto": True,
             "guidance": "全年未召开教代会的，本次考评一票否决"},
            {"code": "7", "title": "提案征集、办理和反馈及时", "max_points": 8},
            {"code": "8", "title": "校务公开栏内容齐全，及时更新", "max_points": 6, "evidence_method": "site_visit"},
            {"code": "9", "title": "教职工对工会工作的满意率", "kind": "rate_band", "max_points": 6,
             "bands": [[90, 6], [80, 4], [70, 2]], "evidence_method": "survey", "guidance": "按问卷测评结果填写满意率"},
        ]},
        {"name": "履行职能", "cap": 40, "indicators": [
            {"code": "10", "title": "年度工作计划按时报送", "max_points": 5, "evidence_method": "provided",
             "provided_source": "plan_on_time"},
            {"code": "11", "title": "年度工作计划完成情况", "max_points": 10, "evidence_method": "provided",
             "provided_source": "plan_completion_rate", "guidance": "按计划活动完成率折算"},
            {"code": "12", "title": "开展教职工文体活动", "max_points": 8, "evidence_method": "interview"},
            {"code": "13", "title": "落实“五必访”，建立困难教职工档案并开展帮扶", "max_points": 9},
            {"code": "14", "title": "维护女职工合法权益", "max_points": 8},
            {"code": "14+", "title": "工会工作获区级以上表彰", "kind": "bonus", "bonus_max": 3,
             "guidance": "区级加 1 分，市级加 2 分，省级及以上加 3 分"},
        ]},
    ],
}
DEMO_RUBRIC_FAMILY = "demo-annual"


def _load_open_round(district) -> None:
    """The demo rubric, published, and this year's 年度考评 opened with it: opening enters
    every school, so a chair finds an application to fill under 申报与自评."""
    from datetime import timedelta

    from sqlalchemy import inspect

    from app.rounds import services as rounds
    from app.rubrics import services as rubrics

    district_id = inspect(district).identity[0]
    with tenant_scope(Scope.district(district_id)):
        doc, errors = rubrics.clean_document(DEMO_RUBRIC)
        if errors:  # the data above is wrong: a programming error
            raise ValueError(f"demo rubric is invalid: {errors}")
        rubric = rubrics.create_rubric(doc, family=DEMO_RUBRIC_FAMILY, audit_details={"demo": True})
        rubrics.publish(rubric)
        today = rounds.china_today()
        round_ = rounds.create_round({
            "name": "学校工会工作年度考评", "kind": "annual_review", "year": today.year,
            "rubric_id": rubric.id, "opens_on": today - timedelta(days=7), "closes_on": today + timedelta(days=60),
            "grace_days": 3, "assessment_due_on": today + timedelta(days=90), "publicity_working_days": 5,
            "weights": {"self": 20, "assessor": 80, "peer": 0}, "aggregation": "mean", "panel_size": 3,
            "quotas": {"excellent": 3}, "grade_bands": [["excellent", 90], ["good", 80], ["pass", 60]],
            "tie_break": ["gates_passed", "assessor_total", "category:民主管理", "earlier_submission"],
        })
        rounds.open_round(round_)
        db.session.commit()


# Titles held by demo schools (school index, level, tier, kind, years ago, what happened since):
# one 标兵 (模范 for four years, kept at each 复查), titles due for 复查, one under 限期整改,
# one 摘牌 — the titles list, a school's page and a 复查 round have something to show.
DEMO_TITLES = [
    (0, "district", "model", "staff_home", 4, "kept", "连续四年保持区级模范职工之家"),
    (1, "city", "advanced", "staff_home", 0.5, None, "市总工会命名"),
    (3, "district", "advanced", "staff_home", 1.1, None, "区教育工会命名"),
    (5, "district", "qualified", "staff_home", 2, "conditional", "职工书屋开放时间不足，限期整改"),
    (6, "district", "advanced", "staff_home", 3, "revoked", "复查未达到先进标准，摘牌"),
    (7, "district", "model", "group_home", 0.8, None, "英语组职工小家"),
    (11, "province", "advanced", "staff_home", 2, None, "省教育工会命名"),
]


def _load_titles(district) -> None:
    """Titles registered by hand through app/titles/services.py, as the district admin would."""
    from datetime import timedelta

    from sqlalchemy import inspect

    from app.titles import services as titles
    from tenants.models import School

    district_id = inspect(district).identity[0]
    with tenant_scope(Scope.district(district_id)):
        schools = db.session.scalars(select(School).order_by(School.code)).all()
        by_code = {school.code: school for school in schools}
        today = titles.china_today()
        for index, level, tier, kind, years_ago, then, note in DEMO_TITLES:
            school = by_code[SCHOOLS[index][2]]
            title = titles.register({"school_id": school.id, "level": level, "tier": tier, "home_kind": kind,
                                     "awarded_on": today - timedelta(days=round(365 * years_ago)), "note": note},
                                    today=today)
            if then == "kept":
                titles.keep(title, reason="复查合格，保留称号", today=today)
            elif then == "conditional":
                titles.make_conditional(title, reason=note, deadline=today + timedelta(days=60), today=today)
            elif then == "revoked":
                titles.revoke(title, reason=note, today=today)
        db.session.commit()


# The schools' plans for this year, by school index: approved ones get activity records for a
# share of their schedule (so completion rates differ), one is returned with a comment, some wait
# for review, one is still a draft and the rest have not filed (未提交) — the tracking page and
# the completion chart have something to show.
PLAN_STATES = {0: "approved", 1: "approved", 2: "approved", 3: "returned", 4: "approved", 5: "approved",
               6: "submitted", 7: "approved", 8: "submitted", 9: "draft"}
DONE_SHARE = {0: 1.0, 1: 0.8, 2: 0.55, 4: 0.7, 5: 0.35, 7: 0.9}
PLAN_FILES = ("plan_a.txt", "plan_b.txt")


def _load_plans(district) -> None:
    """Plans imported from the two real sample plans (app/demo_plans) through the same parser
    and services a chair uses."""
    from datetime import date
    from pathlib import Path

    from sqlalchemy import inspect

    from app.activities import services as activities
    from app.plans import services as plans
    from app.plans.forms import vm_from_parsed
    from app.plans.parser import parse_plan_text
    from tenants.models import School

    district_id = inspect(district).identity[0]
    folder = Path(__file__).with_name("demo_plans")
    parsed = [parse_plan_text((folder / name).read_text(encoding="utf-8")) for name in PLAN_FILES]
    chair = plans.Actor(None, frozenset({"school_chair"}))
    district_staff = plans.Actor(None, frozenset({"district_admin"}))
    with tenant_scope(Scope.district(district_id)):
        today = plans.today_china()
        year = today.year
        plans.set_deadline(year, date(year, 12, 15), district_staff)
        schools = list(db.session.scalars(select(School).order_by(School.code)))
        for index, state in PLAN_STATES.items():
            school = schools[index]
            proposal = parsed[index % len(parsed)]
            vm = vm_from_parsed(proposal)
            data = {"title": f"{school.name}{year}年工会工作计划", "guiding_ideology": vm["guiding_ideology"],
                    "goals": vm["goals"], "sections": vm["sections"], "measures": vm["measures"],
                    "schedule": [{"months": list(slot.months), "activities": vm_slot["activities"]}
                                 for slot, vm_slot in zip(proposal.schedule, vm["slots"])],
                    "unclassified": [u["text"] for u in vm["unclassified"]]}
            plan = plans.save_draft(school, year, data, chair)
            if state == "draft":
                continue
            version = plans.submit(plan, chair)
            if state == "approved":
                plans.approve(plan, version.number, district_staff, note="同意")
            elif state == "returned":
                plans.return_plan(plan, version.number, [("schedule", "活动安排请写明每项活动的负责人和大致日期")], district_staff)
            share = DONE_SHARE.get(index)
            if share:
                _record_done(school, plans.flat_schedule(plans.plan_content(plan)), share, today, activities)
        db.session.commit()


# The schools' year summaries (工作总结) for this year, by school index: one accepted, two waiting,
# one returned with a comment, one draft; the others have not filed. The figures in each version
# are computed from the plans and activity records above when the chair submits.
SUMMARY_STATES = {0: "accepted", 1: "submitted", 2: "returned", 4: "submitted", 7: "draft"}


def _load_summaries(district) -> None:
    """Year summaries written and submitted through the same services a chair uses (each
    submit queues its dossier)."""
    from sqlalchemy import inspect

    from app.plans.services import Actor, today_china
    from app.summaries import services as summaries
    from tenants.models import School

    district_id = inspect(district).identity[0]
    chair = Actor(None, frozenset({"school_chair"}))
    district_staff = Actor(None, frozenset({"district_staff"}))
    with tenant_scope(Scope.district(district_id)):
        year = today_china().year
        schools = list(db.session.scalars(select(School).order_by(School.code)))
        for index, state in SUMMARY_STATES.items():
            school = schools[index]
            data = {
                "achievements": (f"{year}年，{school.name}工会在学校党组织领导下，按照年度工作计划开展工作：召开教职工代表大会，"
                                 "审议学校发展规划和绩效工资分配方案；坚持校务公开，重大事项按程序公示；组织三八节、"
                                 "教师节和秋季运动会等活动，走访慰问困难和生病教职工。"),
                "highlights": "建成“教工书屋”和心理减压室，开展青年教师读书沙龙；女教工委员会组织“巾帼建功”系列活动。",
                "problems": "部分活动参与面不够广，青年教师参与工会工作的积极性有待提高；活动台账整理不够及时。",
                "next_year": "继续深化民主管理和校务公开，办好职工小家；完善活动台账，按月整理活动记录和照片。",
            }
            summary = summaries.save_draft(school, year, data, chair)
            if state == "draft":
                continue
            version = summaries.submit(summary, chair)
            if state == "accepted":
                summaries.accept(summary, version.number, district_staff, "已阅，总结全面。")
            elif state == "returned":
                summaries.return_summary(summary, version.number, district_staff,
                                         "请补充全年活动的具体数据和存在问题的整改措施。")
        db.session.commit()


def _record_done(school, schedule: list[dict], share: float, today, activities) -> None:
    """Records for the first ``share`` of the activities planned up to this month."""
    from datetime import date

    due = [a for a in schedule if a["months"] and min(a["months"]) <= today.month]
    for position, activity in enumerate(due[:round(len(due) * share)]):
        month = min(activity["months"])
        held_on = date(today.year, month, min(10 + position % 15, 28))
        if held_on > today:
            continue
        activities.save_record(school, {
            "held_on": held_on, "title": activity["title"][:200], "category": activity["category"],
            "participants": 20 + (position * 7) % 60, "description": "按计划开展，详见活动照片与签到表。",
            "scheduled_activity_id": activity["id"]})


def login_lines() -> list[str]:
    labels = {"platform_admin": "平台管理员", "district_admin": "区教育工会管理员", "district_staff": "区教育工会工作人员",
              "assessor": "评审专家", "school_chair": "学校工会主席", "school_editor": "工会委员"}
    existing = set(db.session.scalars(select(User.username)))
    lines = ["演示账号（密码均为 %s）：" % PASSWORD]
    for username, name, role, school_index in USERS:
        if username in existing:
            where = f" · {SCHOOLS[school_index][0]}" if school_index is not None else ""
            lines.append(f"  {username:<10} {labels[role]}{where}（{name}）")
    return lines
