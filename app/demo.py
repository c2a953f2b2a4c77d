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
