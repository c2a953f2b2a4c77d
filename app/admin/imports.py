"""Importing schools and users from an Excel workbook.

Every row is checked first; an import with any error changes nothing and lists the errors
by sheet, row and column. Large files run as a background job with progress.
"""
from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass, field

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.passwords import hash_password, password_problem
from app.audit.services import record
from app.extensions import db
from app.jobs.services import JobFailed, handler
from app.spreadsheets import ImportRejected, RowError  # noqa: F401 (re-exported)
from app.uploads import UploadError, check_office_zip
from tenants.models import SCHOOL_KINDS, Membership, School
from tenants.roles import DISTRICT_ROLES, ROLE_LABELS, SCHOOL_ROLES
from tenants.scope import current_scope

SCHOOL_SHEET = "学校"
USER_SHEET = "用户"
SCHOOL_COLUMNS = ["学校名称", "学校类型", "学校代码", "教职工数", "会员数", "地址"]
USER_COLUMNS = ["用户名", "姓名", "手机", "邮箱", "角色", "所属学校", "初始密码"]
REQUIRED = {"学校名称", "学校类型", "用户名", "姓名", "角色", "初始密码"}

KIND_BY_LABEL = {label: code for code, label in SCHOOL_KINDS.items()}
ROLE_BY_LABEL = {label: code for code, label in ROLE_LABELS.items() if code != "platform_admin"}
ROLE_BY_LABEL.update({"工会主席": "school_chair", "主席": "school_chair", "委员": "school_editor"})
PHONE_RE = re.compile(r"^1\d{10}$")
USERNAME_RE = re.compile(r"^[a-z0-9._@-]{1,64}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")




@dataclass
class ImportPlan:
    schools: list[dict] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.schools) + len(self.users)

    def error(self, sheet, row, column, message):
        self.errors.append(RowError(sheet, row, column, message))

    def errors_as_dicts(self, limit: int = 500) -> list[dict]:
        return [asdict(e) for e in self.errors[:limit]]


# --- reading -------------------------------------------------------------------

def read(data: bytes, max_bytes: int, max_rows: int) -> tuple[list, list]:
    if len(data) > max_bytes:
        raise ImportRejected(f"文件太大（{len(data) // 1024} KB），导入文件不能超过 {max_bytes // 1024 // 1024} MB")
    try:
        check_office_zip(data, ("[Content_Types].xml", "xl/workbook.xml"), "Excel (.xlsx)")
    except UploadError as exc:
        raise ImportRejected(str(exc))
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any parser failure is a bad file for the user
        raise ImportRejected("无法读取该 Excel 文件，请确认文件未损坏")
    if SCHOOL_SHEET not in wb.sheetnames and USER_SHEET not in wb.sheetnames:
        raise ImportRejected(f"找不到名为「{SCHOOL_SHEET}」或「{USER_SHEET}」的工作表，请使用导入模板")
    schools = _sheet_rows(wb, SCHOOL_SHEET, SCHOOL_COLUMNS, max_rows)
    users = _sheet_rows(wb, USER_SHEET, USER_COLUMNS, max_rows)
    if len(schools) + len(users) > max_rows:
        raise ImportRejected(f"行数过多（{len(schools) + len(users)} 行），一次最多导入 {max_rows} 行")
    if not schools and not users:
        raise ImportRejected("文件中没有可导入的数据行")
    return schools, users


def _sheet_rows(wb, name, columns, max_rows) -> list[tuple[int, dict]]:
    if name not in wb.sheetnames:
        return []
    ws = wb[name]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        return []
    header = [str(h).strip().rstrip("*＊") if h is not None else "" for h in header]
    missing = [c for c in columns if c in REQUIRED and c not in header]
    if missing:
        raise ImportRejected(f"工作表「{name}」缺少列：{'、'.join(missing)}（请使用导入模板）")
    index = {c: header.index(c) for c in columns if c in header}
    out = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        if len(out) >= max_rows:
            raise ImportRejected(f"行数过多，一次最多导入 {max_rows} 行")
        out.append((number, {c: _cell(values, i) for c, i in index.items()}))
    return out


def _cell(values, i) -> str:
    if i >= len(values) or values[i] is None:
        return ""
    value = values[i]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- checking ------------------------------------------------------------------

def check(school_rows, user_rows) -> ImportPlan:
    """Every rule, every row; runs inside the district scope."""
    plan = ImportPlan()
    existing_schools = {s.name: s.id for s in db.session.scalars(select(School))}
    existing_codes = {c for c in db.session.scalars(select(School.code).where(School.code.is_not(None)))}
    _check_schools(plan, school_rows, existing_schools, existing_codes)
    known_schools = set(existing_schools) | {s["name"] for s in plan.schools}
    names = [r.get("用户名", "").lower() for _, r in user_rows]
    taken = set(db.session.scalars(select(User.username).where(User.username.in_(names)))) if names else set()
    _check_users(plan, user_rows, known_schools, taken)
    return plan


def _int(plan, row, column, text, sheet):
    if text == "":
        return 0
    try:
        value = int(text)
    except ValueError:
        plan.error(sheet, row, column, "应为整数")
        return 0
    if value < 0 or value > 100000:
        plan.error(sheet, row, column, "应在 0 到 100000 之间")
    return value


def _check_schools(plan, rows, existing, existing_codes):
    seen_names, seen_codes = {}, {}
    for number, r in rows:
        name, kind_label, code = r.get("学校名称", ""), r.get("学校类型", ""), r.get("学校代码", "")
        if not name:
            plan.error(SCHOOL_SHEET, number, "学校名称", "必填")
        elif len(name) > 100:
            plan.error(SCHOOL_SHEET, number, "学校名称", "不能超过 100 个字")
        elif name in existing:
            plan.error(SCHOOL_SHEET, number, "学校名称", f"学校「{name}」已存在")
        elif name in seen_names:
            plan.error(SCHOOL_SHEET, number, "学校名称", f"与第 {seen_names[name]} 行重复")
        seen_names.setdefault(name, number)
        kind = KIND_BY_LABEL.get(kind_label)
        if not kind_label:
            plan.error(SCHOOL_SHEET, number, "学校类型", "必填")
        elif kind is None:
            plan.error(SCHOOL_SHEET, number, "学校类型", f"「{kind_label}」不是有效类型，可选：{'、'.join(KIND_BY_LABEL)}")
        if code:
            if code in existing_codes:
                plan.error(SCHOOL_SHEET, number, "学校代码", f"代码「{code}」已被使用")
            elif code in seen_codes:
                plan.error(SCHOOL_SHEET, number, "学校代码", f"与第 {seen_codes[code]} 行重复")
            seen_codes.setdefault(code, number)
        staff = _int(plan, number, "教职工数", r.get("教职工数", ""), SCHOOL_SHEET)
        members = _int(plan, number, "会员数", r.get("会员数", ""), SCHOOL_SHEET)
        if members > staff:
            plan.error(SCHOOL_SHEET, number, "会员数", "会员数不能多于教职工数")
        plan.schools.append({"row": number, "name": name, "kind": kind, "code": code or None,
                             "staff_count": staff, "member_count": members, "address": r.get("地址", "")[:200]})


def _check_users(plan, rows, known_schools, taken):
    seen = {}
    for number, r in rows:
        username = r.get("用户名", "").lower()
        if not username:
            plan.error(USER_SHEET, number, "用户名", "必填")
        elif not USERNAME_RE.match(username):
            plan.error(USER_SHEET, number, "用户名", "只能包含字母、数字和 . _ - @，不超过 64 个字符")
        elif username in taken:
            plan.error(USER_SHEET, number, "用户名", f"用户名「{username}」已被使用")
        elif username in seen:
            plan.error(USER_SHEET, number, "用户名", f"与第 {seen[username]} 行重复")
        seen.setdefault(username, number)
        display = r.get("姓名", "")
        if not display:
            plan.error(USER_SHEET, number, "姓名", "必填")
        elif len(display) > 64:
            plan.error(USER_SHEET, number, "姓名", "不能超过 64 个字")
        phone = r.get("手机", "")
        if phone and not PHONE_RE.match(phone):
            plan.error(USER_SHEET, number, "手机", "应为 11 位手机号码")
        email = r.get("邮箱", "")
        if email and not EMAIL_RE.match(email):
            plan.error(USER_SHEET, number, "邮箱", "邮箱格式不正确")
        role_label, school = r.get("角色", ""), r.get("所属学校", "")
        role = ROLE_BY_LABEL.get(role_label)
        if not role_label:
            plan.error(USER_SHEET, number, "角色", "必填")
        elif role is None:
            plan.error(USER_SHEET, number, "角色", f"「{role_label}」不是有效角色，可选：{'、'.join(ROLE_LABELS[r] for r in SCHOOL_ROLES + DISTRICT_ROLES)}")
        elif role in SCHOOL_ROLES and not school:
            plan.error(USER_SHEET, number, "所属学校", "学校角色必须填写所属学校")
        elif role in DISTRICT_ROLES and school:
            plan.error(USER_SHEET, number, "所属学校", "区级角色不填写所属学校")
        if school and school not in known_schools:
            plan.error(USER_SHEET, number, "所属学校", f"学校「{school}」不存在（也不在本次导入的「学校」表中）")
        password = r.get("初始密码", "")
        problem = password_problem(password, username) if password else "必填"
        if problem:
            plan.error(USER_SHEET, number, "初始密码", problem)
        plan.users.append({"row": number, "username": username, "display_name": display, "phone": phone,
                           "email": email, "role": role, "school": school or None, "password": password})


# --- applying ------------------------------------------------------------------

def apply(plan: ImportPlan, progress=None) -> dict:
    """Create everything in the current transaction (the caller commits once)."""
    assert not plan.errors, "an import with errors must not be applied"
    progress = progress or (lambda *_: None)
    district_id = current_scope().district_id
    # Hash first, write after: hashing dominates a large import, and on SQLite progress can
    # only be written while this transaction has not started writing.
    total = max(1, len(plan.users))
    users = []
    for i, row in enumerate(plan.users):
        users.append(User(username=row["username"], display_name=row["display_name"], phone=row["phone"],
                          email=row["email"], password_hash=hash_password(row["password"]),
                          must_change_password=True))
        if i % 10 == 0:
            progress(30 + int(60 * i / total), f"正在创建用户 {i + 1}/{total}")
    for school in plan.schools:
        db.session.add(School(district_id=district_id, name=school["name"], kind=school["kind"],
                              code=school["code"], staff_count=school["staff_count"],
                              member_count=school["member_count"], address=school["address"]))
    db.session.flush()
    school_ids = {s.name: s.id for s in db.session.scalars(select(School))}
    db.session.add_all(users)
    db.session.flush()
    for row, user in zip(plan.users, users):
        db.session.add(Membership(district_id=district_id, user_id=user.id, role=row["role"],
                                  school_id=school_ids[row["school"]] if row["school"] else None))
    db.session.flush()
    summary = f"导入学校 {len(plan.schools)} 所、用户 {len(plan.users)} 名"
    record("import_completed", target_type="District", target_id=district_id,
           details={"schools": len(plan.schools), "users": len(plan.users)})
    return {"schools": len(plan.schools), "users": len(plan.users), "summary": summary}


@handler("import_people")
def run_import(run, progress) -> dict:
    from flask import current_app

    from app.uploads import absolute

    cfg = current_app.config
    path = absolute(run.args["path"])
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise JobFailed("导入文件已不存在，请重新上传")
    progress(5, "正在读取文件")
    try:
        school_rows, user_rows = read(data, cfg["IMPORT_MAX_BYTES"], cfg["IMPORT_MAX_ROWS"])
    except ImportRejected as exc:
        raise JobFailed(str(exc))
    progress(15, "正在逐行检查")
    plan = check(school_rows, user_rows)
    if plan.errors:
        raise JobFailed(f"发现 {len(plan.errors)} 处错误，未导入任何数据",
                        result={"errors": plan.errors_as_dicts(), "error_count": len(plan.errors)})
    progress(30, "检查通过，正在导入")
    result = apply(plan, progress)
    progress(95, "正在保存")
    return result


def template_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SCHOOL_SHEET
    ws.append([c + ("*" if c in REQUIRED else "") for c in SCHOOL_COLUMNS])
    ws.append(["示例第一小学", "小学", "S001", 85, 80, "示例路 1 号"])
    users = wb.create_sheet(USER_SHEET)
    users.append([c + ("*" if c in REQUIRED else "") for c in USER_COLUMNS])
    users.append(["zhangsan", "张三", "13800000000", "", "学校工会主席", "示例第一小学", "ChangeMe-2026"])
    notes = wb.create_sheet("说明")
    notes.append(["带 * 的列必填。学校类型可选：" + "、".join(KIND_BY_LABEL)])
    notes.append(["角色可选：" + "、".join(ROLE_LABELS[r] for r in SCHOOL_ROLES + DISTRICT_ROLES)])
    notes.append(["学校角色须填写所属学校（已有学校或本文件「学校」表中的学校）；区级角色不填。"])
    notes.append(["初始密码至少 8 位；用户首次登录须修改密码。任何一行有错误时，整个文件都不会导入。"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
