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
