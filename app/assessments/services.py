"""Assessment: the assessor pool, conflicts of interest, assignment (by hand, Excel, panels,
balanced random), score sheets, veto / must-pass findings, progress and reminders.

Rules
* Every assignment, whatever the path (page, API, Excel, panel, auto), is made by
  ``assign()``; it calls ``conflict_problem()``, so a conflicted assignment is impossible.
  Own school (any school membership of the assessor's user) is automatic; declared conflicts
  and suggested ones (a school the user belonged to before, from the audit log) block until the
  district dismisses a suggestion with a reason.
* Declaring a conflict with a school removes the assessor's *unscored* assignments there; if a
  sheet there has scores or was submitted the declaration is refused (the district removes or
  reopens the sheet first) — a scored sheet never disappears silently.
* Sheet: assigned → submitted (by the assessor, every scored indicator filled) → assigned (the
  district reopens, while assessing or calibrating, with a reason). Scores change only while the
  round is assessing and the sheet is not submitted.
* Findings (veto / must-pass): raised (with an evidence note) → confirmed | dismissed by a
  second person (another assessor of the application or the district, never the raiser).
  Only confirmed findings count (``confirmed_gates``).

Services write and flush; the caller commits once. Messages are Chinese.
"""
from __future__ import annotations

import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import delete, func, select

from app.accounts.models import User
from app.assessments.models import (
    CONFLICT_CONFIRMED, CONFLICT_DISMISSED, CONFLICT_SUGGESTED, FINDING_CONFIRMED, FINDING_DISMISSED,
    FINDING_MUST_PASS, FINDING_RAISED, FINDING_VETO, SHEET_ASSIGNED, SHEET_SUBMITTED, AssessmentPanel, Assessor,
    AssessorConflict, AssessorScore, Assignment, Finding, PanelApplication, PanelMember)
from app.audit.models import AuditEvent
from app.audit.services import ACTION_LABELS, record
from app.extensions import db
from app.rounds.models import Application, Evidence, Round, SelfScore
from app.rounds.services import (MAX_COMMENT, RubricParts, _decimal, _int, china_today, is_provided,
                                 rubric_parts)
from app.rubrics.models import BONUS, DEDUCTION, POINTS, RATE_BAND, Indicator
from app.rubrics.scoring import IndicatorSpec, Inputs, ScoreInputError, has_input, indicator_points
from app.spreadsheets import RowError, safe_cell
from tenants.models import Membership, School
from tenants.roles import ASSESSOR, DISTRICT_ADMIN, DISTRICT_STAFF, SCHOOL_CHAIR, SCHOOL_EDITOR

ACTION_LABELS.update({
    "assessor_added": "加入评审专家库",
    "assessor_removed": "移出评审专家库",
    "conflict_declared": "申报利益冲突（回避）",
    "conflict_suggested": "系统提示利益冲突",
    "conflict_confirmed": "确认利益冲突",
    "conflict_dismissed": "排除利益冲突提示",
    "assignment_added": "指派评审",
    "assignment_removed": "取消评审指派",
    "assignments_imported": "Excel导入评审指派",
    "assignments_auto": "随机均衡分配评审",
    "assignments_panel": "按评审组分配评审",
    "panel_saved": "保存评审组",
    "score_saved": "保存评分",
    "sheet_submitted": "提交评分表",
    "sheet_reopened": "退回评分表重新评分",
    "finding_raised": "提出否决/必备项问题",
    "finding_confirmed": "确认否决/必备项问题",
    "finding_dismissed": "不采纳否决/必备项问题",
    "assessors_reminded": "提醒评审专家",
})

ASSIGNABLE_APPLICATION_STATES = ("submitted", "under_assessment")
ASSIGNABLE_ROUND_STATES = ("open", "assessing")
REOPEN_ROUND_STATES = ("assessing", "calibrating")
POOL_ROLES = (DISTRICT_ADMIN, DISTRICT_STAFF, SCHOOL_CHAIR, ASSESSOR)
MAX_REASON = 500


class AssessmentError(ValueError):
    """A rule refused the request. ``errors``: key (indicator id, row, "_") → Chinese message."""

    def __init__(self, message: str | dict):
        if isinstance(message, dict):
            self.errors = dict(message)
            message = "；".join(str(v) for v in self.errors.values())
        else:
            self.errors = {"_": message}
        super().__init__(message)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _reason(text: str | None, label: str = "理由") -> str:
    text = (text or "").strip()
    if not text:
        raise AssessmentError(f"请填写{label}")
    if len(text) > MAX_REASON:
        raise AssessmentError(f"{label}不能超过 {MAX_REASON} 个字")
    return text


# --- the pool ----------------------------------------------------------------------------------

def user_names(user_ids) -> dict[int, str]:
    ids = list({i for i in user_ids if i is not None})
    if not ids:
        return {}
    return {u.id: u.display_name or u.username for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def pool(active_only: bool = True) -> list[Assessor]:
    stmt = select(Assessor)
    if active_only:
        stmt = stmt.where(Assessor.active.is_(True))
    return list(db.session.scalars(stmt.order_by(Assessor.id)))


def assessor_of_user(user_id: int) -> Assessor | None:
    return db.session.scalar(select(Assessor).where(Assessor.user_id == user_id, Assessor.active.is_(True)))


def assessor_and_schools(user_id: int) -> tuple[Assessor | None, set[int]]:
    """The user's active assessor and the schools of their assignments (one query)."""
    assessor, school_ids = None, set()
    for found, school_id in db.session.execute(
            select(Assessor, Assignment.school_id)
            .outerjoin(Assignment, (Assignment.district_id == Assessor.district_id)
                       & (Assignment.assessor_id == Assessor.id))
            .where(Assessor.user_id == user_id, Assessor.active.is_(True))):
        assessor = found
        if school_id is not None:
            school_ids.add(school_id)
    return assessor, school_ids


def own_schools(user_ids) -> dict[int, set[int]]:
    """user id → the schools the user holds a role in now (automatic conflicts)."""
    result: dict[int, set[int]] = defaultdict(set)
    ids = list(set(user_ids))
    if not ids:
        return result
    for user_id, school_id in db.session.execute(
            select(Membership.user_id, Membership.school_id).where(Membership.user_id.in_(ids),
                                                                   Membership.school_id.is_not(None))):
        result[user_id].add(school_id)
    return result


def candidates() -> list[tuple[User, list[Membership]]]:
    """Users of this district who may join the pool (district staff, chairs) and are not in it."""
    in_pool = {a.user_id for a in pool()}
    rows = list(db.session.scalars(select(Membership).where(Membership.role.in_(POOL_ROLES))))
    by_user: dict[int, list[Membership]] = defaultdict(list)
    for m in rows:
        if m.user_id not in in_pool:
            by_user[m.user_id].append(m)
    return sorted(((ms[0].user, ms) for ms in by_user.values() if ms[0].user.active),
                  key=lambda pair: pair[0].username)


def add_assessor(user_id: int, *, note: str = "", actor_id: int | None = None) -> Assessor:
    """Add a user of this district to the pool; grants the assessor role if missing."""
    memberships = list(db.session.scalars(select(Membership).where(Membership.user_id == user_id)))
    if not memberships or not any(m.role in POOL_ROLES for m in memberships):
        raise AssessmentError("只能从本区工作人员或学校工会主席中选择评审专家")
    user = memberships[0].user
    if not user.active:
        raise AssessmentError("该账号已停用")
    assessor = db.session.scalar(select(Assessor).where(Assessor.user_id == user_id))
    if assessor is not None and assessor.active:
        raise AssessmentError(f"「{user.display_name}」已在评审专家库中")
    has_role = any(m.role == ASSESSOR and m.school_id is None for m in memberships)
    if not has_role:
        db.session.add(Membership(user_id=user_id, role=ASSESSOR, school_id=None))
    if assessor is None:
        assessor = Assessor(user_id=user_id)
        db.session.add(assessor)
    assessor.active, assessor.note, assessor.added_by = True, (note or "").strip()[:200], actor_id
    assessor.granted_role = assessor.granted_role or not has_role
    db.session.flush()
    record("assessor_added", target=assessor, details={"user": user.username, "granted_role": not has_role})
    suggest_conflicts(assessor)
    return assessor


def remove_assessor(assessor: Assessor, *, actor_id: int | None = None) -> int:
    """Leave the pool: unscored assignments of rounds still running are removed; refused while
    the assessor has a scored, unsubmitted sheet (the district removes or settles it first)."""
    running = select(Round.id).where(Round.status.in_(ASSIGNABLE_ROUND_STATES))
    assignments = list(db.session.scalars(select(Assignment).where(Assignment.assessor_id == assessor.id,
                                                                   Assignment.round_id.in_(running))))
    scored = scored_assignment_ids([a.id for a in assignments])
    if any(a.id in scored and a.status == SHEET_ASSIGNED for a in assignments):
        raise AssessmentError("该评审专家有已评分但未提交的评分表，请先处理后再移出")
    removed = 0
    for a in assignments:
        if a.status == SHEET_ASSIGNED and a.id not in scored:
            db.session.delete(a)
            removed += 1
    assessor.active = False
    if assessor.granted_role:
        db.session.execute(delete(Membership).where(Membership.user_id == assessor.user_id,
                                                    Membership.role == ASSESSOR, Membership.school_id.is_(None)))
        assessor.granted_role = False
    db.session.flush()
    record("assessor_removed", target=assessor, details={"user_id": assessor.user_id, "assignments_removed": removed})
    return removed


# --- conflicts of interest ----------------------------------------------------------------------

def conflicts_of(assessor_ids) -> dict[int, list[AssessorConflict]]:
    ids = list(set(assessor_ids))
    result: dict[int, list[AssessorConflict]] = defaultdict(list)
    if ids:
        for c in db.session.scalars(select(AssessorConflict).where(AssessorConflict.assessor_id.in_(ids))
                                    .order_by(AssessorConflict.id)):
            result[c.assessor_id].append(c)
    return result


@dataclass
class ConflictMap:
    """Everything needed to check many (assessor, school) pairs with no further queries."""

    own: dict = field(default_factory=dict)        # assessor id → own school ids
    blocked: dict = field(default_factory=dict)    # assessor id → {school id: reason}

    def problem(self, assessor: Assessor, school_id: int, school_name: str = "") -> str | None:
        where = f"「{school_name}」" if school_name else "该校"
        if school_id in self.own.get(assessor.id, set()):
            return f"评审专家不能评审本人所在学校{where}"
        reason = self.blocked.get(assessor.id, {}).get(school_id)
        if reason is not None:
            return f"评审专家与{where}存在利益冲突（{reason}），不能指派"
        return None


def conflict_map(assessors: list[Assessor]) -> ConflictMap:
    owns = own_schools([a.user_id for a in assessors])
    result = ConflictMap(own={a.id: owns.get(a.user_id, set()) for a in assessors})
    for assessor_id, rows in conflicts_of([a.id for a in assessors]).items():
        for c in rows:
            if c.blocks:
                label = "系统提示待确认" if c.status == CONFLICT_SUGGESTED else (c.reason or "已申报回避")
                result.blocked.setdefault(assessor_id, {})[c.school_id] = label
    return result


def conflict_problem(assessor: Assessor, school_id: int, school_name: str = "",
                     conflicts: ConflictMap | None = None) -> str | None:
    """Why ``assessor`` may not assess ``school_id`` (None: no conflict). The one check."""
    conflicts = conflicts or conflict_map([assessor])
    return conflicts.problem(assessor, school_id, school_name)


def _school_or_error(school_id) -> School:
    try:
        school = db.session.get(School, (db.session.info["scope"].district_id, int(school_id)))
    except (TypeError, ValueError):
        school = None
    if school is None:
        raise AssessmentError("找不到该学校")
    return school


def declare_conflict(assessor: Assessor, school_id: int, reason: str, *, actor_id: int | None = None) -> AssessorConflict:
    """A declared conflict (by the district or the assessor). Removes the assessor's unscored
    assignments at that school; refused if a sheet there has scores or was submitted."""
    reason = _reason(reason, "回避理由")
    school = _school_or_error(school_id)
    assignments = list(db.session.scalars(select(Assignment).where(Assignment.assessor_id == assessor.id,
                                                                   Assignment.school_id == school.id)))
    running = {r.id: r.status for r in db.session.scalars(
        select(Round).where(Round.id.in_([a.round_id for a in assignments])))} if assignments else {}
    scored = scored_assignment_ids([a.id for a in assignments])
    to_remove = []
    for a in assignments:
        if running.get(a.round_id) not in ASSIGNABLE_ROUND_STATES:
            continue
        if a.status == SHEET_SUBMITTED or a.id in scored:
            raise AssessmentError(f"该评审专家已对「{school.name}」评分，不能直接申报回避；"
                                  "请区教育工会先取消该评分表后再申报")
        to_remove.append(a)
    conflict = db.session.scalar(select(AssessorConflict).where(AssessorConflict.assessor_id == assessor.id,
                                                                AssessorConflict.school_id == school.id))
    if conflict is None:
        conflict = AssessorConflict(assessor_id=assessor.id, school_id=school.id)
        db.session.add(conflict)
    conflict.source, conflict.status, conflict.reason, conflict.declared_by = "declared", CONFLICT_CONFIRMED, reason, actor_id
    conflict.decided_by, conflict.decided_at, conflict.decision_reason = actor_id, _now(), ""
    for a in to_remove:
        record("assignment_removed", target=a, details={"assessor_id": a.assessor_id, "why": "conflict_declared"})
        db.session.delete(a)
    db.session.flush()
    record("conflict_declared", target=conflict, details={"assessor_id": assessor.id, "school": school.name,
                                                          "reason": reason, "assignments_removed": len(to_remove)})
    return conflict


def former_schools(user_id: int) -> set[int]:
    """Schools the user held a role in and no longer does (audit log of revoked roles)."""
    district_id = db.session.info["scope"].district_id
    rows = db.session.execute(select(AuditEvent.school_id, AuditEvent.details).where(
        AuditEvent.district_id == district_id, AuditEvent.action == "membership_removed",
        AuditEvent.target_type == "User", AuditEvent.target_id == str(user_id),
        AuditEvent.school_id.is_not(None))).all()
    current = own_schools([user_id]).get(user_id, set())
    return {school_id for school_id, details in rows
            if (details or {}).get("role") in (SCHOOL_CHAIR, SCHOOL_EDITOR)} - current


def suggest_conflicts(assessor: Assessor) -> list[AssessorConflict]:
    """Suggested conflicts for the schools the assessor's user belonged to before. They block
    until the district confirms or dismisses them."""
    existing = {c.school_id for c in conflicts_of([assessor.id]).get(assessor.id, [])}
    made = []
    for school_id in sorted(former_schools(assessor.user_id) - existing):
        conflict = AssessorConflict(assessor_id=assessor.id, school_id=school_id, source="former_membership",
                                    status=CONFLICT_SUGGESTED, reason="曾在该校担任工会职务")
        db.session.add(conflict)
        made.append(conflict)
    if made:
        db.session.flush()
        for c in made:
            record("conflict_suggested", target=c, details={"assessor_id": assessor.id, "school_id": c.school_id})
    return made


def decide_conflict(conflict: AssessorConflict, decision: str, reason: str, *, actor_id: int | None = None) -> None:
    """The district confirms or dismisses a suggested conflict (reason required, audited)."""
    if conflict.status != CONFLICT_SUGGESTED:
        raise AssessmentError("该利益冲突已处理过")
    if decision not in ("confirm", "dismiss"):
        raise AssessmentError("请选择确认回避或排除")
    reason = _reason(reason, "处理理由")
    conflict.status = CONFLICT_CONFIRMED if decision == "confirm" else CONFLICT_DISMISSED
    conflict.decided_by, conflict.decided_at, conflict.decision_reason = actor_id, _now(), reason
    db.session.flush()
    record("conflict_confirmed" if decision == "confirm" else "conflict_dismissed", target=conflict,
           details={"assessor_id": conflict.assessor_id, "school_id": conflict.school_id, "reason": reason})


# --- assignment ---------------------------------------------------------------------------------

def round_applications(round_: Round) -> list[Application]:
    return list(db.session.scalars(select(Application).where(
        Application.round_id == round_.id, Application.status.in_(ASSIGNABLE_APPLICATION_STATES))
        .order_by(Application.id)))


def assignments_of(round_: Round) -> list[Assignment]:
    return list(db.session.scalars(select(Assignment).where(Assignment.round_id == round_.id)
                                   .order_by(Assignment.application_id, Assignment.id)))


@dataclass
class AssignContext:
    """What ``assign`` checks against, loaded once for a batch."""

    round_: Round
    applications: dict           # id → Application
    schools: dict                # id → School
    assessors: dict              # id → Assessor (active)
    conflicts: ConflictMap
    existing: set                # (application id, assessor id)


def assign_context(round_: Round) -> AssignContext:
    applications = {a.id: a for a in round_applications(round_)}
    schools = {s.id: s for s in db.session.scalars(select(School))}
    assessors = {a.id: a for a in pool()}
    return AssignContext(round_, applications, schools, assessors, conflict_map(list(assessors.values())),
                         {(a.application_id, a.assessor_id) for a in assignments_of(round_)})


def check_assignable(ctx: AssignContext, application_id: int, assessor_id: int) -> tuple[Application, Assessor]:
    """Why the pair cannot be assigned (AssessmentError), else the application and assessor."""
    if ctx.round_.status not in ASSIGNABLE_ROUND_STATES:
        raise AssessmentError("只有申报中或评审中的轮次可以指派评审")
    application = ctx.applications.get(application_id)
    if application is None:
        raise AssessmentError("该申报不在本轮次中，或尚未提交，不能指派评审")
    assessor = ctx.assessors.get(assessor_id)
    if assessor is None:
        raise AssessmentError("该用户不在评审专家库中")
    school = ctx.schools.get(application.school_id)
    problem = conflict_problem(assessor, application.school_id, school.name if school else "", ctx.conflicts)
    if problem:
        raise AssessmentError(problem)
    if (application_id, assessor_id) in ctx.existing:
        raise AssessmentError("该评审专家已被指派评审这份申报")
    return application, assessor


def assign(round_: Round, application_id: int, assessor_id: int, *, source: str = "manual",
           actor_id: int | None = None, panel_id: int | None = None, ctx: AssignContext | None = None) -> Assignment:
    """The one way an assignment is made (page, API, Excel, panels, auto). Refuses a conflicted
    pair, a foreign or unsubmitted application, an assessor outside the pool, a duplicate."""
    ctx = ctx or assign_context(round_)
    application, assessor = check_assignable(ctx, application_id, assessor_id)
    assignment = Assignment(round_id=round_.id, application_id=application.id, school_id=application.school_id,
                            assessor_id=assessor.id, source=source, assigned_by=actor_id, panel_id=panel_id)
    db.session.add(assignment)
    db.session.flush()
    ctx.existing.add((application_id, assessor_id))
    record("assignment_added", target=assignment,
           details={"round_id": round_.id, "application_id": application.id, "assessor_id": assessor.id,
                    "source": source})
    return assignment


def assign_many(round_: Round, pairs: list[tuple[int, int]], *, source: str, actor_id: int | None = None,
                labels: list[str] | None = None, panel_ids: list | None = None) -> list[Assignment]:
    """All or nothing: every pair is checked first (errors listed per pair), then each is made
    through ``assign``."""
    ctx = assign_context(round_)
    errors, seen = {}, set()
    for n, (application_id, assessor_id) in enumerate(pairs):
        label = labels[n] if labels else str(n)
        try:
            check_assignable(ctx, application_id, assessor_id)
            if (application_id, assessor_id) in seen:
                raise AssessmentError("同一评审专家对同一申报重复指派")
        except AssessmentError as exc:
            errors[label] = str(exc)
        seen.add((application_id, assessor_id))
    if errors:
        raise AssessmentError(errors)
    return [assign(round_, application_id, assessor_id, source=source, actor_id=actor_id, ctx=ctx,
                   panel_id=panel_ids[n] if panel_ids else None)
            for n, (application_id, assessor_id) in enumerate(pairs)]


def unassign(assignment: Assignment, *, actor_id: int | None = None) -> None:
    """Remove an assignment that is not submitted (its scores go with it, audited)."""
    round_ = db.session.get(Round, (assignment.district_id, assignment.round_id))
    if round_.status not in ASSIGNABLE_ROUND_STATES:
        raise AssessmentError("轮次已进入核分，不能再取消指派")
    if assignment.status == SHEET_SUBMITTED:
        raise AssessmentError("评分表已提交，请先退回后再取消指派")
    scored = scored_assignment_ids([assignment.id])
    record("assignment_removed", target=assignment,
           details={"assessor_id": assignment.assessor_id, "application_id": assignment.application_id,
                    "had_scores": bool(scored)})
    db.session.delete(assignment)
    db.session.flush()


def scored_assignment_ids(assignment_ids) -> set[int]:
    ids = list(assignment_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(AssessorScore.assignment_id).where(
        AssessorScore.assignment_id.in_(ids)).distinct()))


def auto_assign(round_: Round, *, per_application: int | None = None, load_cap: int | None = None,
                seed: int = 0, actor_id: int | None = None) -> list[Assignment]:
    """Balanced random assignment: each application gets ``per_application`` assessors
    (default round.panel_size), the least-loaded eligible assessor first (ties broken by a
    seeded shuffle: same seed, same result), never beyond ``load_cap``. All or nothing."""
    n = per_application or round_.panel_size
    if not n or n < 1:
        raise AssessmentError("请填写每份申报的评审人数")
    if load_cap is not None and load_cap < 1:
        raise AssessmentError("每位评审的上限应大于 0")
    ctx = assign_context(round_)
    rng = random.Random(seed)
    assessors = sorted(ctx.assessors.values(), key=lambda a: a.id)
    if not assessors:
        raise AssessmentError("评审专家库为空")
    load = defaultdict(int)
    have = defaultdict(set)
    for application_id, assessor_id in ctx.existing:
        load[assessor_id] += 1
        have[application_id].add(assessor_id)
    order = {a.id: rng.random() for a in assessors}
    apps = sorted(ctx.applications.values(), key=lambda a: a.id)
    rng.shuffle(apps)
    pairs, errors = [], {}
    for application in apps:
        school = ctx.schools.get(application.school_id)
        need = n - len(have[application.id])
        eligible = [a for a in assessors if a.id not in have[application.id]
                    and ctx.conflicts.problem(a, application.school_id) is None
                    and (load_cap is None or load[a.id] < load_cap)]
        eligible.sort(key=lambda a: (load[a.id], order[a.id]))
        chosen = eligible[:max(need, 0)]
        if len(chosen) < need:
            errors[school.name if school else str(application.id)] = (
                f"「{school.name if school else application.id}」只找到 {len(have[application.id]) + len(chosen)} "
                f"位无利益冲突且未超上限的评审，需要 {n} 位")
            continue
        for a in chosen:
            load[a.id] += 1
            have[application.id].add(a.id)
            pairs.append((application.id, a.id))
    if errors:
        raise AssessmentError(errors)
    made = assign_many(round_, pairs, source="auto", actor_id=actor_id)
    record("assignments_auto", target=round_, details={"per_application": n, "load_cap": load_cap, "seed": seed,
                                                       "assignments": len(made)})
    return made


# --- panels -------------------------------------------------------------------------------------

def panels_of(round_: Round) -> list[dict]:
    panels = list(db.session.scalars(select(AssessmentPanel).where(AssessmentPanel.round_id == round_.id)
                                     .order_by(AssessmentPanel.id)))
    ids = [p.id for p in panels]
    members, apps = defaultdict(list), defaultdict(list)
    if ids:
        for m in db.session.scalars(select(PanelMember).where(PanelMember.panel_id.in_(ids))):
            members[m.panel_id].append(m.assessor_id)
        for pa in db.session.scalars(select(PanelApplication).where(PanelApplication.panel_id.in_(ids))):
            apps[pa.panel_id].append(pa.application_id)
    return [{"panel": p, "assessor_ids": sorted(members[p.id]), "application_ids": sorted(apps[p.id])}
            for p in panels]


def save_panel(round_: Round, name: str, assessor_ids, application_ids, *, actor_id: int | None = None,
               panel: AssessmentPanel | None = None) -> AssessmentPanel:
    """Create or replace a panel (评审组). Conflicted member × application pairs are refused
    here already, so that assigning the panel cannot fail on them."""
    if round_.status not in ASSIGNABLE_ROUND_STATES:
        raise AssessmentError("只有申报中或评审中的轮次可以设置评审组")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise AssessmentError("请填写评审组名称（100 字以内）")
    ctx = assign_context(round_)
    assessor_ids = sorted({int(i) for i in assessor_ids})
    application_ids = sorted({int(i) for i in application_ids})
    errors = {}
    for i in assessor_ids:
        if i not in ctx.assessors:
            errors[f"a{i}"] = "评审组成员须在评审专家库中"
    for i in application_ids:
        if i not in ctx.applications:
            errors[f"p{i}"] = "评审组的申报须属于本轮次且已提交"
    if not assessor_ids or not application_ids:
        errors["_"] = "评审组至少需要一位评审专家和一份申报"
    taken = {pa.application_id: pa.panel_id for pa in db.session.scalars(
        select(PanelApplication).join(AssessmentPanel, AssessmentPanel.id == PanelApplication.panel_id)
        .where(AssessmentPanel.round_id == round_.id))}
    for i in application_ids:
        if i in taken and (panel is None or taken[i] != panel.id):
            school = ctx.schools.get(ctx.applications[i].school_id) if i in ctx.applications else None
            errors[f"t{i}"] = f"「{school.name if school else i}」已在另一个评审组中"
    for a in assessor_ids:
        for p in application_ids:
            if a in ctx.assessors and p in ctx.applications:
                application = ctx.applications[p]
                school = ctx.schools.get(application.school_id)
                problem = ctx.conflicts.problem(ctx.assessors[a], application.school_id, school.name if school else "")
                if problem:
                    errors[f"c{a}-{p}"] = f"{assessor_label(ctx.assessors[a])}：{problem}"
    if errors:
        raise AssessmentError(errors)
    if panel is None:
        panel = AssessmentPanel(round_id=round_.id, name=name)
        db.session.add(panel)
        db.session.flush()
    else:
        panel.name = name
        db.session.execute(delete(PanelMember).where(PanelMember.panel_id == panel.id))
        db.session.execute(delete(PanelApplication).where(PanelApplication.panel_id == panel.id))
    for a in assessor_ids:
        db.session.add(PanelMember(panel_id=panel.id, assessor_id=a))
    for p in application_ids:
        db.session.add(PanelApplication(panel_id=panel.id, application_id=p, school_id=ctx.applications[p].school_id))
    db.session.flush()
    record("panel_saved", target=panel, details={"name": name, "assessors": assessor_ids, "applications": application_ids})
    return panel


def assign_panels(round_: Round, *, actor_id: int | None = None) -> list[Assignment]:
    """Every member of each panel scores every application of that panel (missing pairs only)."""
    existing = {(a.application_id, a.assessor_id) for a in assignments_of(round_)}
    pairs, panel_ids = [], []
    for entry in panels_of(round_):
        for p in entry["application_ids"]:
            for a in entry["assessor_ids"]:
                if (p, a) not in existing:
                    pairs.append((p, a))
                    panel_ids.append(entry["panel"].id)
    if not pairs:
        raise AssessmentError("评审组的指派已全部完成，没有需要新增的指派")
    made = assign_many(round_, pairs, source="panel", actor_id=actor_id, panel_ids=panel_ids)
    record("assignments_panel", target=round_, details={"assignments": len(made)})
    return made


# --- Excel --------------------------------------------------------------------------------------

EXCEL_HEADERS = ["学校名称", "评审专家账号"]


def assignment_template(round_: Round) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "评审指派"
    ws.append(EXCEL_HEADERS)
    names = {s.id: s.name for s in db.session.scalars(select(School))}
    for application in round_applications(round_):
        ws.append([safe_cell(names.get(application.school_id, "")), ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def import_assignments(round_: Round, data: bytes, *, actor_id: int | None = None) -> list[Assignment]:
    """Rows (学校名称, 评审专家账号). Any bad row: nothing changes and every row error is listed."""
    from openpyxl import load_workbook

    from app.spreadsheets import ImportRejected
    from app.uploads import check_office_zip

    try:
        check_office_zip(data, ("xl/workbook.xml",), "Excel")
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportRejected:
        raise
    except Exception:
        raise ImportRejected("无法读取该文件，请上传 .xlsx 格式的 Excel 文件")
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    if not rows or [str(c or "").strip() for c in rows[0][:2]] != EXCEL_HEADERS:
        raise ImportRejected("第一行应为表头：学校名称、评审专家账号")
    if len(rows) > 5001:
        raise ImportRejected("一次最多导入 5000 行")
    ctx = assign_context(round_)
    by_school = {s.name: s.id for s in ctx.schools.values()}
    app_by_school = {a.school_id: a.id for a in ctx.applications.values()}
    users = {u.username: u.id for u in db.session.scalars(
        select(User).where(User.id.in_([a.user_id for a in ctx.assessors.values()] or [-1])))}
    assessor_by_user = {a.user_id: a.id for a in ctx.assessors.values()}
    errors: list[RowError] = []
    pairs, labels = [], []
    for n, row in enumerate(rows[1:], start=2):
        cells = [str(c).strip() if c is not None else "" for c in (list(row) + [None, None])[:2]]
        if not any(cells):
            continue
        school_name, username = cells
        if not school_name:
            errors.append(RowError("评审指派", n, "学校名称", "请填写学校名称"))
            continue
        if school_name not in by_school:
            errors.append(RowError("评审指派", n, "学校名称", f"找不到学校「{school_name}」"))
            continue
        application_id = app_by_school.get(by_school[school_name])
        if application_id is None:
            errors.append(RowError("评审指派", n, "学校名称", f"「{school_name}」在本轮次没有已提交的申报"))
            continue
        if not username:
            errors.append(RowError("评审指派", n, "评审专家账号", "请填写评审专家账号"))
            continue
        assessor_id = assessor_by_user.get(users.get(username))
        if assessor_id is None:
            errors.append(RowError("评审指派", n, "评审专家账号", f"「{username}」不在评审专家库中"))
            continue
        pairs.append((application_id, assessor_id))
        labels.append(str(n))
    made = []
    if not errors:
        try:
            made = assign_many(round_, pairs, source="excel", actor_id=actor_id, labels=labels)
        except AssessmentError as exc:
            errors = [RowError("评审指派", int(k), "", v) for k, v in exc.errors.items() if k.isdigit()]
    if errors:
        raise AssessmentError({f"{e.row}": f"第 {e.row} 行{('「' + e.column + '」') if e.column else ''}：{e.message}"
                               for e in errors})
    record("assignments_imported", target=round_, details={"assignments": len(made)})
    return made


# --- sheets -------------------------------------------------------------------------------------

def assessor_label(assessor: Assessor) -> str:
    return user_names([assessor.user_id]).get(assessor.user_id, str(assessor.id))


def my_assignments(assessor: Assessor) -> list[tuple[Assignment, Round, Application, School]]:
    rows = db.session.execute(
        select(Assignment, Round, Application, School)
        .join(Round, (Round.district_id == Assignment.district_id) & (Round.id == Assignment.round_id))
        .join(Application, (Application.district_id == Assignment.district_id)
              & (Application.id == Assignment.application_id))
        .join(School, (School.district_id == Assignment.district_id) & (School.id == Assignment.school_id))
        .where(Assignment.assessor_id == assessor.id, Round.status.not_in(("draft", "open")))
        .order_by(Round.year.desc(), Round.id.desc(), School.name)).all()
    return [tuple(r) for r in rows]


def scores_of(assignment: Assignment, indicator_ids=None) -> dict[int, AssessorScore]:
    """The sheet's score rows by indicator (only those of ``indicator_ids`` when given)."""
    stmt = select(AssessorScore).where(AssessorScore.assignment_id == assignment.id)
    if indicator_ids is not None:
        stmt = stmt.where(AssessorScore.indicator_id.in_(list(indicator_ids)))
    return {s.indicator_id: s for s in db.session.scalars(stmt)}


def score_inputs(row: AssessorScore | None) -> Inputs | None:
    if row is None:
        return None
    return Inputs(points=row.points, units=row.units, rate=row.rate)


def editable_problem(assignment: Assignment, round_: Round) -> str | None:
    """Scores change while the round is assessing and the sheet is not submitted; a sheet the
    district reopened during calibrating may be corrected then too."""
    if assignment.status == SHEET_SUBMITTED:
        return "评分表已提交，只有区教育工会可以退回重评"
    if round_.status == "assessing":
        return None
    if round_.status == "calibrating" and assignment.reopened_count:
        return None
    return "轮次不在评审阶段，评分表只读"


def clean_score(indicator: Indicator, entry: dict) -> dict:
    """One indicator's typed input → values within the indicator's bounds (ScoreInputError)."""
    title = indicator.title
    points = units = rate = None
    if indicator.kind in (POINTS, BONUS):
        points = _decimal(entry.get("points"), title)
    elif indicator.kind == DEDUCTION:
        units = _int(entry.get("units"), title)
    elif indicator.kind == RATE_BAND:
        rate = _decimal(entry.get("rate"), title)
    comment = (entry.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ScoreInputError(f"「{title}」的评语不能超过 {MAX_COMMENT} 个字")
    indicator_points(IndicatorSpec.of(indicator), Inputs(points=points, units=units, rate=rate))
    return {"points": points, "units": units, "rate": rate, "comment": comment}


def save_scores(assignment: Assignment, round_: Round, entries: dict, *, comment: str | None = None,
                indicators: list[Indicator] | None = None, actor=None) -> int:
    """Save some or all indicators of a sheet: ``entries`` maps indicator id → {points|units|rate,
    comment}. All or nothing: any input out of bounds → AssessmentError with per-indicator
    messages and nothing saved. A constant number of queries whatever the indicator count; only
    the indicators and score rows named in ``entries`` are read (a per-indicator save reads one
    of each, not the whole rubric and sheet)."""
    problem = editable_problem(assignment, round_)
    if problem:
        raise AssessmentError(problem)
    keys: dict = {}
    for key in entries:
        try:
            keys[key] = int(key)
        except (TypeError, ValueError):
            continue
    if indicators is None:
        wanted = sorted(set(keys.values()))
        indicators = list(db.session.scalars(select(Indicator).where(
            Indicator.rubric_id == round_.rubric_id, Indicator.id.in_(wanted)))) if wanted else []
    by_id = {i.id: i for i in indicators}
    errors, cleaned = {}, {}
    for key, entry in entries.items():
        if key not in keys:
            continue
        indicator_id = keys[key]
        indicator = by_id.get(indicator_id)
        if indicator is None:
            errors[str(key)] = "该指标不属于本轮次的考核细则"
            continue
        try:
            cleaned[indicator_id] = clean_score(indicator, entry or {})
        except ScoreInputError as exc:
            errors[indicator_id] = str(exc)
    if comment is not None and len(comment.strip()) > MAX_COMMENT:
        errors["comment"] = f"总体评价不能超过 {MAX_COMMENT} 个字"
    if errors:
        raise AssessmentError(errors)
    rows = scores_of(assignment, cleaned) if cleaned else {}
    now = _now()
    changes = {}
    for indicator_id, values in cleaned.items():
        row = rows.get(indicator_id)
        if row is None:
            if all(values[k] is None for k in ("points", "units", "rate")) and not values["comment"]:
                continue
            row = AssessorScore(assignment_id=assignment.id, application_id=assignment.application_id,
                                school_id=assignment.school_id, indicator_id=indicator_id)
            db.session.add(row)
        before = {k: _plain(getattr(row, k, None)) for k in ("points", "units", "rate")}
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = now
        after = {k: _plain(values[k]) for k in ("points", "units", "rate")}
        if before != after:
            changes[str(indicator_id)] = after
    if comment is not None:
        assignment.comment = comment.strip()
    assignment.updated_at = now
    db.session.flush()
    record("score_saved", target=assignment, actor=actor,
           details={"application_id": assignment.application_id, "changes": changes})
    return len(cleaned)


def _plain(value):
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral_value() else str(value)
    return value


def missing_scores(parts: RubricParts, rows: dict[int, AssessorScore]) -> list[Indicator]:
    return [i for i in parts.indicators
            if i.kind != BONUS and not is_provided(i) and not has_input(IndicatorSpec.of(i), score_inputs(rows.get(i.id)))]


def submit_sheet(assignment: Assignment, round_: Round, *, actor=None) -> None:
    """Submit: every scored indicator needs an input; 上级提供 indicators without one take the
    system's (self) value. Then only the district can reopen the sheet."""
    problem = editable_problem(assignment, round_)
    if problem:
        raise AssessmentError(problem)
    parts = rubric_parts(round_.rubric_id)
    rows = scores_of(assignment)
    missing = missing_scores(parts, rows)
    if missing:
        raise AssessmentError({i.id: f"「{i.title}」尚未评分" for i in missing})
    provided = [i for i in parts.indicators if is_provided(i) and i.id not in rows]
    if provided:
        selfs = {s.indicator_id: s for s in db.session.scalars(select(SelfScore).where(
            SelfScore.application_id == assignment.application_id))}
        for indicator in provided:
            own = selfs.get(indicator.id)
            if own is not None:
                db.session.add(AssessorScore(assignment_id=assignment.id, application_id=assignment.application_id,
                                             school_id=assignment.school_id, indicator_id=indicator.id,
                                             points=own.points, units=own.units, rate=own.rate,
                                             comment="上级提供数据"))
    assignment.status = SHEET_SUBMITTED
    assignment.submitted_at = _now()
    db.session.flush()
    record("sheet_submitted", target=assignment, actor=actor,
           details={"application_id": assignment.application_id, "assessor_id": assignment.assessor_id})


def reopen_sheet(assignment: Assignment, round_: Round, reason: str, *, actor=None) -> None:
    """The district sends a submitted sheet back to its assessor (assessing or calibrating)."""
    if round_.status not in REOPEN_ROUND_STATES:
        raise AssessmentError("只有评审中或核分中的轮次可以退回评分表")
    if assignment.status != SHEET_SUBMITTED:
        raise AssessmentError("评分表尚未提交，无需退回")
    reason = _reason(reason, "退回理由")
    assignment.status = SHEET_ASSIGNED
    assignment.submitted_at = None
    assignment.reopened_count += 1
    db.session.flush()
    record("sheet_reopened", target=assignment, actor=actor,
           details={"application_id": assignment.application_id, "assessor_id": assignment.assessor_id,
                    "reason": reason, "round_status": round_.status})


def others_scores(assignment: Assignment, viewer_submitted: bool) -> list[dict]:
    """Other assessors' submitted sheets of the same application — only once the viewer has
    submitted their own."""
    if not viewer_submitted:
        return []
    others = list(db.session.scalars(select(Assignment).where(
        Assignment.application_id == assignment.application_id, Assignment.id != assignment.id,
        Assignment.status == SHEET_SUBMITTED)))
    if not others:
        return []
    scores = defaultdict(dict)
    for s in db.session.scalars(select(AssessorScore).where(AssessorScore.assignment_id.in_([o.id for o in others]))):
        scores[s.assignment_id][s.indicator_id] = s
    assessors = {a.id: a for a in db.session.scalars(select(Assessor).where(
        Assessor.id.in_([o.assessor_id for o in others])))}
    names = user_names([a.user_id for a in assessors.values()])
    return [{"assignment": o, "name": names.get(assessors[o.assessor_id].user_id, ""), "scores": scores[o.id]}
            for o in others if o.assessor_id in assessors]


# --- findings (veto / must-pass) ----------------------------------------------------------------

def findings_of(application_id: int) -> list[Finding]:
    return list(db.session.scalars(select(Finding).where(Finding.application_id == application_id)
                                   .order_by(Finding.id)))


def raise_finding(application: Application, round_: Round, indicator_id: int, kind: str, note: str, *,
                  user_id: int, assessor: Assessor | None = None, evidence_id=None) -> Finding:
    if round_.status not in ("assessing", "calibrating"):
        raise AssessmentError("只有评审中或核分中的轮次可以提出否决或必备项问题")
    if kind not in (FINDING_VETO, FINDING_MUST_PASS):
        raise AssessmentError("请选择一票否决或必备条件")
    indicator = db.session.scalar(select(Indicator).where(Indicator.id == int(indicator_id),
                                                          Indicator.rubric_id == round_.rubric_id))
    if indicator is None:
        raise AssessmentError("该指标不属于本轮次的考核细则")
    if kind == FINDING_VETO and not indicator.veto:
        raise AssessmentError(f"「{indicator.title}」不是一票否决项")
    if kind == FINDING_MUST_PASS and not indicator.must_pass:
        raise AssessmentError(f"「{indicator.title}」不是必备条件")
    note = (note or "").strip()
    if not note:
        raise AssessmentError("提出否决或必备项问题须填写证据说明")
    if len(note) > MAX_COMMENT:
        raise AssessmentError(f"证据说明不能超过 {MAX_COMMENT} 个字")
    evidence = None
    if evidence_id not in (None, ""):
        try:
            evidence = db.session.scalar(select(Evidence).where(Evidence.id == int(evidence_id),
                                                                Evidence.application_id == application.id))
        except (TypeError, ValueError):
            evidence = None
        if evidence is None:
            raise AssessmentError("所选佐证材料不属于这份申报")
    open_ = db.session.scalar(select(Finding).where(
        Finding.application_id == application.id, Finding.indicator_id == indicator.id, Finding.kind == kind,
        Finding.status.in_((FINDING_RAISED, FINDING_CONFIRMED))))
    if open_ is not None:
        raise AssessmentError(f"「{indicator.title}」已有{open_.status_label}的同类问题")
    finding = Finding(round_id=round_.id, application_id=application.id, school_id=application.school_id,
                      indicator_id=indicator.id, kind=kind, note=note, evidence_id=evidence.id if evidence else None,
                      raised_by=user_id, raised_by_assessor_id=assessor.id if assessor else None)
    db.session.add(finding)
    db.session.flush()
    record("finding_raised", target=finding, details={"application_id": application.id, "indicator": indicator.title,
                                                      "kind": kind, "note": note})
    return finding


def decide_finding(finding: Finding, round_: Round, decision: str, note: str, *, user_id: int,
                   as_district: bool = False, assessor: Assessor | None = None) -> None:
    """raised → confirmed | dismissed, by a second person: the district (admin) or another
    assessor assigned to the same application — never the raiser."""
    if round_.status not in ("assessing", "calibrating"):
        raise AssessmentError("只有评审中或核分中的轮次可以确认否决或必备项问题")
    if finding.status != FINDING_RAISED:
        raise AssessmentError(f"该问题已{finding.status_label}，不能再处理")
    if decision not in ("confirm", "dismiss"):
        raise AssessmentError("请选择确认或不采纳")
    if user_id == finding.raised_by:
        raise AssessmentError("提出人不能自己确认，须由另一位评审专家或区教育工会确认")
    if not as_district:
        assigned = assessor is not None and db.session.scalar(select(func.count()).select_from(Assignment).where(
            Assignment.application_id == finding.application_id, Assignment.assessor_id == assessor.id))
        if not assigned:
            raise AssessmentError("只有评审这份申报的其他评审专家或区教育工会可以确认")
    note = (note or "").strip()
    if decision == "dismiss" and not note:
        raise AssessmentError("不采纳须填写理由")
    finding.status = FINDING_CONFIRMED if decision == "confirm" else FINDING_DISMISSED
    finding.decided_by, finding.decided_at, finding.decision_note = user_id, _now(), note[:MAX_COMMENT]
    db.session.flush()
    record("finding_confirmed" if decision == "confirm" else "finding_dismissed", target=finding,
           details={"application_id": finding.application_id, "indicator_id": finding.indicator_id, "note": note})


# --- the contract the results (calibration) code reads -------------------------------------------

def _gate_indicators(round_: Round) -> list[Indicator]:
    return list(db.session.scalars(select(Indicator).where(
        Indicator.rubric_id == round_.rubric_id, (Indicator.veto.is_(True)) | (Indicator.must_pass.is_(True)))))


def _submitted_assignments(round_: Round) -> list[tuple]:
    """(id, application_id, assessor_id, comment) of the round's SUBMITTED sheets, as plain tuples
    (in the database's order, as ``submitted_sheets`` always read them)."""
    return [tuple(r) for r in db.session.execute(
        select(Assignment.id, Assignment.application_id, Assignment.assessor_id, Assignment.comment)
        .where(Assignment.round_id == round_.id, Assignment.status == SHEET_SUBMITTED))]


def submitted_sheets(round_: Round, *, assignments: list[tuple] | None = None) -> dict[int, dict[int, dict[int, Inputs]]]:
    """application id → assessor id → indicator id → Inputs, from SUBMITTED sheets only (at most 4
    queries; one fewer with ``assignments`` from ``_submitted_assignments``). Scores are read as
    plain column tuples, not ORM entities (~150,000 rows at 500 schools). For veto / must-pass
    indicators ``passed`` is False where this assessor raised a finding that was not dismissed,
    else True: the engine shows it as raised; only ``confirmed_gates`` count."""
    if assignments is None:
        assignments = _submitted_assignments(round_)
    if not assignments:
        return {}
    result: dict = {}
    by_sheet = {}
    for a_id, app_id, assessor_id, _comment in assignments:
        # an empty submitted sheet still appears
        by_sheet[a_id] = result.setdefault(app_id, {}).setdefault(assessor_id, {})
    for a_id, indicator_id, points, units, rate in db.session.execute(
            select(AssessorScore.assignment_id, AssessorScore.indicator_id, AssessorScore.points,
                   AssessorScore.units, AssessorScore.rate)
            .join(Assignment, (Assignment.district_id == AssessorScore.district_id)
                  & (Assignment.id == AssessorScore.assignment_id))
            .where(Assignment.round_id == round_.id, Assignment.status == SHEET_SUBMITTED)):
        sheet = by_sheet.get(a_id)
        if sheet is not None:
            sheet[indicator_id] = Inputs(points=points, units=units, rate=rate)
    gates = [g.id for g in _gate_indicators(round_)]
    raised = {tuple(r) for r in db.session.execute(
        select(Finding.application_id, Finding.raised_by_assessor_id, Finding.indicator_id)
        .where(Finding.round_id == round_.id, Finding.status != FINDING_DISMISSED))}
    for a_id, app_id, assessor_id, _comment in assignments:
        sheet = by_sheet[a_id]
        for g in gates:
            current = sheet.get(g) or Inputs()
            sheet[g] = Inputs(points=current.points, units=current.units, rate=current.rate,
                              passed=(app_id, assessor_id, g) not in raised)
    return result


def confirmed_gates(round_: Round) -> dict[int, tuple[set[int], set[int]]]:
    result: dict = {}
    for f in db.session.scalars(select(Finding).where(Finding.round_id == round_.id,
                                                      Finding.status == FINDING_CONFIRMED)):
        vetoes, failed = result.setdefault(f.application_id, (set(), set()))
        (vetoes if f.kind == FINDING_VETO else failed).add(f.indicator_id)
    return result


def unconfirmed_findings(round_: Round) -> dict[int, list]:
    result: dict = defaultdict(list)
    for f in db.session.scalars(select(Finding).where(Finding.round_id == round_.id,
                                                      Finding.status == FINDING_RAISED).order_by(Finding.id)):
        result[f.application_id].append(f)
    return dict(result)


def assessor_names(round_: Round) -> dict[int, str]:
    ids = set(db.session.scalars(select(Assignment.assessor_id).where(Assignment.round_id == round_.id)))
    if not ids:
        return {}
    rows = db.session.execute(select(Assessor.id, User.display_name, User.username)
                              .join(User, User.id == Assessor.user_id).where(Assessor.id.in_(ids))).all()
    return {i: (display or username) for i, display, username in rows}


def sheet_comments(round_: Round, *, names: dict | None = None,
                   assignments: list[tuple] | None = None) -> dict[int, list[dict]]:
    """application id → the assessors' comments of SUBMITTED sheets: each sheet's overall comment
    (by sheet), then the per-indicator ones (by sheet, indicator). Only the score rows that carry a
    comment are read, as plain tuples."""
    if names is None:
        names = assessor_names(round_)
    if assignments is None:
        assignments = _submitted_assignments(round_)
    if not assignments:
        return {}
    ordered = sorted(assignments)
    sheets = {a[0]: a for a in ordered}
    result: dict = defaultdict(list)
    for _a_id, app_id, assessor_id, comment in ordered:
        if comment.strip():
            result[app_id].append({"assessor_id": assessor_id, "assessor": names.get(assessor_id, ""),
                                   "indicator_id": None, "comment": comment.strip()})
    for a_id, indicator_id, comment in db.session.execute(
            select(AssessorScore.assignment_id, AssessorScore.indicator_id, AssessorScore.comment)
            .join(Assignment, (Assignment.district_id == AssessorScore.district_id)
                  & (Assignment.id == AssessorScore.assignment_id))
            .where(Assignment.round_id == round_.id, Assignment.status == SHEET_SUBMITTED,
                   AssessorScore.comment != "", AssessorScore.comment != "上级提供数据")
            .order_by(AssessorScore.assignment_id, AssessorScore.indicator_id)):
        if comment.strip() and a_id in sheets:
            _a_id, app_id, assessor_id, _comment = sheets[a_id]
            result[app_id].append({"assessor_id": assessor_id, "assessor": names.get(assessor_id, ""),
                                   "indicator_id": indicator_id, "comment": comment.strip()})
    return dict(result)


def calibration_inputs(round_: Round) -> dict:
    """Everything the calibration reads from the assessments, loading the submitted sheets once:
    {"sheets", "comments", "names", "gates", "pending"} as the functions of the same names return."""
    names = assessor_names(round_)
    assignments = _submitted_assignments(round_)
    return {"sheets": submitted_sheets(round_, assignments=assignments),
            "comments": sheet_comments(round_, names=names, assignments=assignments),
            "names": names, "gates": confirmed_gates(round_), "pending": unconfirmed_findings(round_)}


def inputs_fingerprint(round_: Round) -> tuple:
    """A cheap summary that changes whenever an assessment input of the calibration changes, except
    the submitted sheets themselves: the database counts every write of an application's submitted
    sheets and of their score rows (a submission and a reopening included), whoever makes it, in
    ``application.sheets_revision`` (migrations 0011 and 0015; it never goes down), which the
    results read with the applications (results.services._round_rows).
    Here: the names of the district's assessors (a superset of the round's) and the findings (every
    id/status). 2 statements, neither over the sheets or the score rows."""
    names = tuple(tuple(r) for r in db.session.execute(
        select(Assessor.id, User.display_name, User.username).join(User, User.id == Assessor.user_id)
        .order_by(Assessor.id)))
    findings = tuple(tuple(r) for r in db.session.execute(
        select(Finding.id, Finding.application_id, Finding.indicator_id, Finding.kind, Finding.status,
               Finding.raised_by_assessor_id).where(Finding.round_id == round_.id).order_by(Finding.id)))
    return names, findings


def raised_in(fingerprint: tuple) -> dict[int, list[int]]:
    """application id → the ids of its raised (not yet confirmed or dismissed) findings, by id, read
    from an ``inputs_fingerprint`` (no query): the ids of what ``unconfirmed_findings`` returns."""
    result: dict = {}
    for finding_id, application_id, _indicator, _kind, status, _by in fingerprint[1]:
        if status == FINDING_RAISED:
            result.setdefault(application_id, []).append(finding_id)
    return result


def sheet_progress(round_: Round) -> dict:
    """Counts to decide whether the round may move on: assigned / submitted sheets, the
    applications without any assessor, and raised (unconfirmed) findings."""
    rows = db.session.execute(select(Assignment.application_id, Assignment.status)
                              .where(Assignment.round_id == round_.id)).all()
    apps = {a.id for a in round_applications(round_)}
    covered = {app_id for app_id, _ in rows}
    raised = db.session.scalar(select(func.count()).select_from(Finding).where(
        Finding.round_id == round_.id, Finding.status == FINDING_RAISED)) or 0
    submitted = sum(1 for _, s in rows if s == SHEET_SUBMITTED)
    return {"assigned": len(rows), "submitted": submitted, "open": len(rows) - submitted,
            "applications": len(apps), "unassigned_applications": len(apps - covered),
            "raised_findings": raised, "complete": bool(rows) and submitted == len(rows) and not (apps - covered)}


# --- progress and reminders ---------------------------------------------------------------------

@dataclass
class AssessorProgress:
    assessor: Assessor
    name: str
    assigned: int = 0
    scored: int = 0       # sheets with at least one score
    submitted: int = 0
    reminded_at: datetime | None = None
    late: bool = False


def progress(round_: Round, *, today: date | None = None) -> dict:
    today = today or china_today()
    assignments = assignments_of(round_)
    scored = scored_assignment_ids([a.id for a in assignments])
    assessors = {a.id: a for a in db.session.scalars(select(Assessor).where(
        Assessor.id.in_({a.assessor_id for a in assignments} or {-1})))}
    names = user_names([a.user_id for a in assessors.values()])
    past_due = round_.assessment_due_on is not None and today > round_.assessment_due_on and round_.status == "assessing"
    per_assessor: dict[int, AssessorProgress] = {}
    per_app: dict[int, dict] = {}
    for a in assignments:
        row = per_assessor.setdefault(a.assessor_id, AssessorProgress(
            assessors[a.assessor_id], names.get(assessors[a.assessor_id].user_id, "")))
        row.assigned += 1
        row.scored += a.id in scored
        row.submitted += a.status == SHEET_SUBMITTED
        if a.reminded_at and (row.reminded_at is None or a.reminded_at > row.reminded_at):
            row.reminded_at = a.reminded_at
        entry = per_app.setdefault(a.application_id, {"assigned": 0, "submitted": 0, "sheets": []})
        entry["assigned"] += 1
        entry["submitted"] += a.status == SHEET_SUBMITTED
        entry["sheets"].append(a)
    for row in per_assessor.values():
        row.late = past_due and row.submitted < row.assigned
    apps = round_applications(round_)
    schools = {s.id: s for s in db.session.scalars(select(School))}
    applications = [{"application": p, "school": schools.get(p.school_id),
                     **per_app.get(p.id, {"assigned": 0, "submitted": 0, "sheets": []})} for p in apps]
    return {"assessors": sorted(per_assessor.values(), key=lambda r: (not r.late, r.name)),
            "applications": applications, "past_due": past_due, "summary": sheet_progress(round_),
            "assessor_names": {i: names.get(a.user_id, "") for i, a in assessors.items()}}


def remind_late(round_: Round, *, url: str = "", today: date | None = None, actor=None) -> int:
    """In-app notifications to assessors with unsubmitted sheets (late ones once the due date
    has passed, otherwise everyone with an open sheet). One notification per assessor."""
    from app.activities.models import Notification

    if round_.status != "assessing":
        raise AssessmentError("只有评审中的轮次可以发送提醒")
    data = progress(round_, today=today)
    targets = [r for r in data["assessors"] if r.submitted < r.assigned and (r.late or not data["past_due"])]
    now = _now()
    due = round_.assessment_due_on
    for row in targets:
        left = row.assigned - row.submitted
        when = f"截止日期 {due.isoformat()}" if due else "请尽快完成"
        text = (f"【评审提醒】「{round_.name}」您还有 {left} 份评分表未提交，{when}。"
                + ("已逾期，请尽快提交。" if row.late else ""))
        db.session.add(Notification(user_id=row.assessor.user_id, school_id=None, text=text[:500], url=url))
    if targets:
        ids = [r.assessor.id for r in targets]
        for a in db.session.scalars(select(Assignment).where(Assignment.round_id == round_.id,
                                                             Assignment.assessor_id.in_(ids),
                                                             Assignment.status == SHEET_ASSIGNED)):
            a.reminded_at = now
    db.session.flush()
    record("assessors_reminded", target=round_, actor=actor, details={"assessors": len(targets)})
    return len(targets)
